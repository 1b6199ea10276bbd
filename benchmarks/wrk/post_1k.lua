-- wrk: every request a POST of a 1 KiB body (benchmarks/http11.py's "POST 1 KiB echo").
wrk.method = "POST"
wrk.body = string.rep("x", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
