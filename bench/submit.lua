-- wrk script for bench/run_submit.py: every request is a different, valid applicant.
--
-- Environment (set by the runner):
--   BENCH_MODE         "real" (the village form) or "baseline" (the bare view)
--   BENCH_RUN          index of this wrk run (0-63), so runs never reuse an ID number
--   BENCH_CSRF_COOKIE  value of the csrftoken cookie from one GET of the form
--   BENCH_CSRF_TOKEN   the csrfmiddlewaretoken hidden input from the same page
--   BENCH_ID_CHECK     "gb11643" (default): correct check digits; "legacy": the check
--                      digit apps/core/identity.py computes as of 2026-11-22: it calls
--                      stdnum's ric.calc_check_digit() with 17 digits where it expects
--                      18, which gives the GB 11643 digit of "0" .. digits 1-16
--
-- done() prints one line "BENCH_RESULT {json}" with the counts per HTTP status and
-- the latency percentiles, for the runner to parse.

local mode = os.getenv("BENCH_MODE") or "real"
local run = tonumber(os.getenv("BENCH_RUN") or "0")
local csrf_cookie = os.getenv("BENCH_CSRF_COOKIE") or ""
local csrf_token = os.getenv("BENCH_CSRF_TOKEN") or ""
local legacy_check = os.getenv("BENCH_ID_CHECK") == "legacy"

local threads = {}
local next_tid = 0

function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
   table.insert(threads, thread)
end

-- GB 11643 check digit.
local WEIGHTS = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
local CHECK = "10X98765432"

local function check_digit(body17)
   local sum = 0
   for i = 1, 17 do
      sum = sum + tonumber(body17:sub(i, i)) * WEIGHTS[i]
   end
   local k = sum % 11 + 1
   return CHECK:sub(k, k)
end

local function id_number(u)
   -- u < 1.3e7: birth dates from 1950 to about 1987, 1000 sequence numbers a day.
   local day = math.floor(u / 1000)
   local seq = u % 1000
   local year = 1950 + math.floor(day / 336)
   local month = math.floor(day / 28) % 12 + 1
   local dom = day % 28 + 1
   local body = string.format("621102%04d%02d%02d%03d", year, month, dom, seq)
   return body .. check_digit(legacy_check and ("0" .. body:sub(1, 16)) or body)
end

-- 张伟 王芳 李秀兰 魏家常 马小红 (URL-encoded UTF-8).
local NAMES = {
   "%E5%BC%A0%E4%BC%9F",
   "%E7%8E%8B%E8%8A%B3",
   "%E6%9D%8E%E7%A7%80%E5%85%B0",
   "%E9%AD%8F%E5%AE%B6%E5%B8%B8",
   "%E9%A9%AC%E5%B0%8F%E7%BA%A2",
}
local GROUP = "3%E7%BB%84" -- 3组
local DESCRIPTION = "%E8%80%81%E4%BC%B4%E4%BD%8F%E9%99%A2%E5%81%9A%E6%89%8B%E6%9C%AF" -- 老伴住院做手术
local DIFFICULTIES = {"illness", "disaster", "accident", "schooling", "income_shock"}

local counter = 0
local headers = {}
status_counts = {} -- global: done() reads it with thread:get()

function init(args)
   headers["Content-Type"] = "application/x-www-form-urlencoded"
   headers["Cookie"] = "csrftoken=" .. csrf_cookie
   if tid >= 4 or run >= 64 then
      error("at most 4 wrk threads and 64 runs: ID numbers must stay unique and valid")
   end
end

function request()
   counter = counter + 1
   -- 50,000 applicants per (run, thread): about a minute at this machine's rates.
   if counter >= 50000 then
      error("more than 50,000 requests in one wrk thread: ID numbers would repeat")
   end
   local u = (run * 4 + tid) * 50000 + counter
   local name = NAMES[counter % #NAMES + 1]
   local phone = "13" .. string.format("%09d", u)
   local id = id_number(u)
   local body
   if mode == "baseline" then
      body = "csrfmiddlewaretoken=" .. csrf_token
         .. "&name=" .. name
         .. "&phone=" .. phone
         .. "&id_number=" .. id
         .. "&address=" .. GROUP
   else
      local token = string.format("be0c%04x%08x%08x%08x", run, tid, counter, u)
      body = "csrfmiddlewaretoken=" .. csrf_token
         .. "&token=" .. token
         .. "&name=" .. name
         .. "&phone=" .. phone
         .. "&id_number=" .. id
         .. "&address_group=" .. GROUP
         .. "&address_house=" .. (counter % 200 + 1)
         .. "&difficulties=" .. DIFFICULTIES[counter % #DIFFICULTIES + 1]
         .. "&description=" .. DESCRIPTION
         .. "&consent=on"
   end
   return wrk.format("POST", nil, headers, body)
end

function response(status, hdrs, body)
   status_counts[status] = (status_counts[status] or 0) + 1
end

function done(summary, latency, requests)
   local totals = {}
   for _, thread in ipairs(threads) do
      local counts = thread:get("status_counts")
      for status, n in pairs(counts) do
         totals[status] = (totals[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(totals) do
      table.insert(parts, string.format('"%d": %d', status, n))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"mode": "%s", "run": %d, "requests": %d, "duration_us": %d, '
         .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
         .. '"latency_us": {"mean": %.1f, "stdev": %.1f, "max": %d, "p50": %d, "p75": %d, '
         .. '"p90": %d, "p99": %d, "p999": %d}, "status": {%s}}\n',
      mode, run, summary.requests, summary.duration,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency.stdev, latency.max,
      latency:percentile(50), latency:percentile(75), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9),
      table.concat(parts, ", ")))
end
