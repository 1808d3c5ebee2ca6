-- Public signups with a fresh address every request, to one of the first CIRCLES seeded
-- circles (`seed-circle-1` … `seed-circle-N`) chosen at random.
local counter = 0
local threads = {}
local circles = tonumber(os.getenv("CIRCLES") or "1")
setup = function(thread)
  thread:set("tid", #threads + 1)
  threads[#threads + 1] = thread
end
request = function()
  counter = counter + 1
  local body = "display_name=Load+Tester&timezone=UTC&website=&email=load-" .. tid .. "-" .. counter .. "-" .. os.time() .. "%40example.org"
  local path = "/c/seed-circle-" .. math.random(circles) .. "/join"
  return wrk.format("POST", path, { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end
done = function(summary, latency, requests)
  io.write(string.format("p99.9 %.3fms\n", latency:percentile(99.9) / 1000))
end
