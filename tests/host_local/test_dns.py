"""resolvConf parsing (Go's dns_test.go)."""

from ipam.host_local.dns import parse_resolv_conf


def parse(tmp_path, text: str):
    path = tmp_path / "resolv.conf"
    path.write_text(text)
    return parse_resolv_conf(str(path)).to_json_dict()


def test_simple(tmp_path):
    text = "\n\t\tnameserver 192.0.2.0\n\t\tnameserver 192.0.2.1\n\t\t"
    assert parse(tmp_path, text) == {"nameservers": ["192.0.2.0", "192.0.2.1"]}


def test_comments_ignored(tmp_path):
    assert parse(tmp_path, "\nnameserver 192.0.2.0\n;nameserver 192.0.2.1\n") == {
        "nameservers": ["192.0.2.0"]
    }


def test_all_fields(tmp_path):
    text = """
nameserver 192.0.2.0
nameserver 192.0.2.2
domain example.com
;nameserver comment
#nameserver comment
search example.net example.org
search example.gov
options one two three
options four
lonely
"""
    assert parse(tmp_path, text) == {
        "nameservers": ["192.0.2.0", "192.0.2.2"],
        "domain": "example.com",
        "search": ["example.net", "example.org", "example.gov"],
        "options": ["one", "two", "three", "four"],
    }
