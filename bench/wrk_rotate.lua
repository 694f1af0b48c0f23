-- wrk script for the Sinergi benchmark: every request carries the bearer
-- token and the declared purpose, and the paths rotate through a file of
-- real request paths (one per line), each thread starting at its own offset.
--   BENCH_TOKEN    bearer token
--   BENCH_PATHS    file with one path per line, e.g. /api/v1/workers/<id>
--   BENCH_PURPOSE  X-Purpose header (default supervision)

local token = os.getenv("BENCH_TOKEN") or ""
local purpose = os.getenv("BENCH_PURPOSE") or "supervision"
local file = os.getenv("BENCH_PATHS")

local paths = {}
for line in io.lines(file) do
  if #line > 0 then paths[#paths + 1] = line end
end
assert(#paths > 0, "no paths in " .. tostring(file))

wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["X-Purpose"] = purpose

local i = 0
local thread_no = 0

function setup(thread)
  thread:set("start", thread_no * 7919)
  thread_no = thread_no + 1
end

function init(args)
  i = (start or 0) % #paths
end

function request()
  i = i % #paths + 1
  return wrk.format(nil, paths[i])
end
