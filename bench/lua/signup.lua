-- Public signups with a fresh address every request.
local counter = 0
local threads = {}
setup = function(thread)
  thread:set("tid", #threads + 1)
  threads[#threads + 1] = thread
end
request = function()
  counter = counter + 1
  local body = "display_name=Load+Tester&timezone=UTC&website=&email=load-" .. tid .. "-" .. counter .. "-" .. os.time() .. "%40example.org"
  return wrk.format("POST", os.getenv("SIGNUP_PATH"), { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end
