-- POST a 4 KB body to /echo; the server answers it back.
wrk.method = "POST"
wrk.path = "/echo"
wrk.body = string.rep("x", 4096)
wrk.headers["Content-Type"] = "application/octet-stream"
