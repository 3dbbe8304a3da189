"""A serving loop that blocks on a socket read between steps.

A helper thread answers each request after 80 ms; the main loop's `fetch_context` range waits
in recv() for the answer. On a GPU the GPU would idle during each wait.
"""
import socket
import threading
import time

from nvtx import annotate


def server(sock, steps):
    for _ in range(steps):
        sock.recv(16)
        time.sleep(0.08)
        sock.sendall(b"context")


def main():
    steps = 5
    a, b = socket.socketpair()
    t = threading.Thread(target=server, args=(b, steps), daemon=True)
    t.start()
    for step in range(steps):
        with annotate(f"serve_step_{step}"):
            with annotate("prepare"):
                sum(i % 13 for i in range(200_000))
            with annotate("fetch_context"):
                a.sendall(b"req")
                a.recv(16)
    t.join()


if __name__ == "__main__":
    main()
