-- wrk script for the peer comparison (bench/peers.py): like wrk_rotate.lua it
-- rotates through a file, here of worker ids (the ids Sinergi's reads use),
-- each thread starting at its own offset; the id goes into the path or into a
-- request body in place of "@ID@". No token, no purpose header.
--   BENCH_IDS    file with one id per line
--   BENCH_PATH   request path, "@ID@" replaced by the id (e.g. /sinergi/workers/@ID@.json)
--   BENCH_BODY   file with a JSON body template, "@ID@" replaced; POST when set

local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do
  if #line > 0 then ids[#ids + 1] = line end
end
assert(#ids > 0, "no ids in " .. tostring(os.getenv("BENCH_IDS")))

-- Splits a template at its one "@ID@" (plain find, no patterns).
local function split(template)
  local s, e = string.find(template, "@ID@", 1, true)
  if not s then return template, nil end
  return string.sub(template, 1, s - 1), string.sub(template, e + 1)
end

local path_pre, path_post = split(os.getenv("BENCH_PATH") or "/")
local body_pre, body_post = nil, nil
local body_file = os.getenv("BENCH_BODY")
if body_file and #body_file > 0 then
  local f = assert(io.open(body_file, "r"))
  body_pre, body_post = split(f:read("*a"))
  f:close()
  assert(body_post, "no @ID@ in " .. body_file)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

local i = 0
local thread_no = 0

function setup(thread)
  thread:set("start", thread_no * 7919)
  thread_no = thread_no + 1
end

function init(args)
  i = (start or 0) % #ids
end

function request()
  i = i % #ids + 1
  local id = ids[i]
  local path = path_post and (path_pre .. id .. path_post) or path_pre
  if body_pre then
    return wrk.format("POST", path, nil, body_pre .. id .. body_post)
  end
  return wrk.format("GET", path)
end
