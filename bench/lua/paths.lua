-- GET (or POST with BODY) a random path from PATHS_FILE, one path a line.
local paths = {}
local method = os.getenv("METHOD") or "GET"
local body = os.getenv("BODY")
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
request = function()
  local path = paths[math.random(#paths)]
  if method == "POST" then
    return wrk.format("POST", path, { ["Content-Type"] = "application/x-www-form-urlencoded" }, body or "")
  end
  return wrk.format("GET", path)
end
