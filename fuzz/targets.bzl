"""The fuzz targets, named once for fuzz/, testdata/ and the scripts."""

FUZZ_TARGETS = [
    "client_hello_decode",
    "first_flight_decode",
    "server_hello_decode",
    "request_header_decode",
    "datagram_decode",
    "frame_open",
    "stream_decode",
    "roundtrip",
    "codec_vs_reference",
    "vector_file",
    "aead_differential",
    "server_session",
    "client_session",
    "proxy_server_connection",
    "proxy_server_udp",
]
