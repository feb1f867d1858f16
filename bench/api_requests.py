#!/usr/bin/env python3
"""Requests per second of N sequential `GET /v1.41/containers/json?all=1` on one keep-alive
connection to the API at SOCKET (each answer read whole and checked to be 200).

usage: api_requests.py SOCKET N"""
import http.client
import socket
import sys
import time


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def main() -> None:
    path, count = sys.argv[1], int(sys.argv[2])
    connection = UnixConnection(path)
    # One first request opens the connection and warms the service.
    connection.request("GET", "/v1.41/containers/json?all=1")
    connection.getresponse().read()
    start = time.monotonic()
    for _ in range(count):
        connection.request("GET", "/v1.41/containers/json?all=1")
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"status {response.status}")
    print("%.0f" % (count / (time.monotonic() - start)))


if __name__ == "__main__":
    main()
