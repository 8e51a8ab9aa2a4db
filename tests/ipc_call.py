# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# A varlink client for the shell tests: one NUL-terminated call on a
# daemon's socket, waiting up to 20 seconds for the socket to accept,
# and the reply printed as JSON.
#
#   python3 ipc_call.py SOCKET CALL

import json, socket, sys, time
path, call = sys.argv[1], sys.argv[2]
deadline = time.time() + 20
while True:
	try:
		s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		s.connect(path)
		break
	except OSError:
		s.close()
		if time.time() > deadline:
			raise
		time.sleep(0.1)
s.settimeout(30)
s.sendall(call.encode() + b"\0")
buf = b""
while b"\0" not in buf:
	chunk = s.recv(65536)
	if not chunk:
		sys.exit("connection closed before a reply")
	buf += chunk
print(json.dumps(json.loads(buf[:buf.index(b"\0")].decode())))
