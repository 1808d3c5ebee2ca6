-- GET (or POST with BODY) a random path from PATHS_FILE, one path a line; COOKIE, when set,
-- is sent with every request.
local paths = {}
local method = os.getenv("METHOD") or "GET"
local body = os.getenv("BODY")
local cookie = os.getenv("COOKIE")
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
request = function()
  local path = paths[math.random(#paths)]
  local headers = {}
  if cookie then headers["Cookie"] = cookie end
  if method == "POST" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", path, headers, body or "")
  end
  return wrk.format("GET", path, headers)
end
done = function(summary, latency, requests)
  io.write(string.format("p99.9 %.3fms\n", latency:percentile(99.9) / 1000))
end
