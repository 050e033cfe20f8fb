#!/usr/bin/python3
"""`govc lsp` end to end: a scripted JSON-RPC client over stdio that starts the
real govc and checks what an editor relies on (docs/lsp.md).

    lsp_test.py GOVC SOURCE_DIR [unittest arguments]

Every wait is bounded (generous: sanitizer builds on a busy machine are slow);
nothing depends on timing otherwise.
"""
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import unittest

GOVC = None
SOURCE_DIR = None
WAIT_SECONDS = 180


def file_uri(path):
    return "file://" + "".join(
        c if c.isalnum() and c.isascii() or c in "-._~/" else "".join("%%%02X" % b for b in c.encode("utf-8"))
        for c in os.path.abspath(path)
    )


def utf16_column(line_text, byte_or_char_index):
    """The UTF-16 column of a Python string index within one line."""
    return len(line_text[:byte_or_char_index].encode("utf-16-le")) // 2


def position_of(text, needle, occurrence=0, delta=0):
    """LSP position (UTF-16) of the start of `needle` in `text` (plus `delta` characters)."""
    index = -1
    for _ in range(occurrence + 1):
        index = text.index(needle, index + 1)
    index += delta
    line = text.count("\n", 0, index)
    line_start = text.rfind("\n", 0, index) + 1
    return {"line": line, "character": utf16_column(text[line_start:], index - line_start)}


class Client:
    """One `govc lsp` process; messages from the server are collected by a thread."""

    def __init__(self, args=("lsp",)):
        env = dict(os.environ, GOV_STDLIB=os.path.join(SOURCE_DIR, "stdlib"), NO_COLOR="1")
        self.proc = subprocess.Popen([GOVC, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.messages = queue.Queue()
        self.pending = []
        self.next_id = 1
        self.stderr = b""
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self):
        stream = self.proc.stdout
        while True:
            headers = {}
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.rstrip(b"\r\n")
                if not line:
                    break
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers[b"content-length"]))
            self.messages.put(json.loads(body))

    def _read_stderr(self):
        self.stderr = self.proc.stderr.read()

    def send_raw(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message):
        body = json.dumps(message).encode("utf-8")
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def next_message(self):
        if self.pending:
            return self.pending.pop(0)
        try:
            message = self.messages.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            raise AssertionError("no message from govc lsp within %d s" % WAIT_SECONDS)
        if message is None:
            self.messages.put(None)
            raise AssertionError("govc lsp closed its output; stderr: %r" % self.stderr)
        return message

    def wait_for(self, predicate):
        """The first message matching `predicate`; earlier ones are kept for later waits."""
        skipped = []
        try:
            while True:
                message = self.next_message()
                if predicate(message):
                    return message
                skipped.append(message)
        finally:
            self.pending = skipped + self.pending

    def response(self, request_id):
        return self.wait_for(lambda m: m.get("id") == request_id and "method" not in m)

    def request(self, method, params=None):
        request_id = self.next_id
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.response(request_id)

    def result(self, method, params=None):
        response = self.request(method, params)
        if "error" in response:
            raise AssertionError("%s failed: %r" % (method, response["error"]))
        return response["result"]

    def diagnostics(self, uri, version=None):
        """The next publishDiagnostics for `uri` (for `version`, when given)."""
        message = self.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                and m["params"]["uri"] == uri
                                and (version is None or m["params"].get("version") == version))
        self.pending = [m for m in self.pending if not (m.get("method") == "textDocument/publishDiagnostics"
                                                         and m["params"]["uri"] == uri)]
        return message["params"]["diagnostics"]

    def initialize(self):
        return self.result("initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": {}})

    def open(self, path, text, version=1):
        uri = file_uri(path)
        self.notify("textDocument/didOpen",
                    {"textDocument": {"uri": uri, "languageId": "gov", "version": version, "text": text}})
        return uri

    def change(self, uri, text, version):
        self.notify("textDocument/didChange",
                    {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]})

    def finish(self, shutdown=True):
        """Ends the session politely; returns the exit status."""
        if shutdown:
            self.result("shutdown")
        self.notify("exit", None)
        return self.wait_exit()

    def wait_exit(self):
        try:
            status = self.proc.wait(timeout=WAIT_SECONDS)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return status

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


# A policy with non-ASCII text before the misspelt name on its line: positions
# must count UTF-16 code units (the emoji is two), not bytes or code points.
BROKEN = """policy lsp_demo version "1.0.0"

import std.shell

const workspace: path = "/work/repo"

allow read_files when invoked.path == "/bin/cät😀" and cwd under workspce
    because "reading is harmless"
    with { timeout = 10m, network = none, read = [workspace, "/usr"] }

deny inline_code when shell.runs_inline_code(invoked.name, args) because "no inline code"

test "reads" {
  exec ["/bin/cät😀", "x"] cwd "/work/repo" => allow by read_files
  exec ["/bin/sh", "-c", "x"] => deny by inline_code
}
"""
FIXED = BROKEN.replace("workspce", "workspace")


class LspTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="gov_lsp_")
        self.client = Client()

    def tearDown(self):
        self.client.close()
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_initialize_announces_capabilities(self):
        result = self.client.initialize()
        caps = result["capabilities"]
        self.assertEqual(caps["textDocumentSync"]["change"], 1)
        self.assertTrue(caps["textDocumentSync"]["openClose"])
        self.assertTrue(caps["hoverProvider"])
        self.assertTrue(caps["definitionProvider"])
        self.assertIn(".", caps["completionProvider"]["triggerCharacters"])
        self.assertTrue(caps["documentFormattingProvider"])
        self.assertIn("quickfix", caps["codeActionProvider"]["codeActionKinds"])
        self.assertEqual(caps["positionEncoding"], "utf-16")
        self.assertEqual(result["serverInfo"]["name"], "govc")
        self.assertEqual(self.client.finish(), 0)

    def test_requests_before_initialize_are_refused(self):
        response = self.client.request("textDocument/hover", {
            "textDocument": {"uri": "file:///x.gov"}, "position": {"line": 0, "character": 0}})
        self.assertEqual(response["error"]["code"], -32002)
        self.client.initialize()
        again = self.client.request("initialize", {"capabilities": {}})
        self.assertEqual(again["error"]["code"], -32600)
        self.assertEqual(self.client.finish(), 0)

    def test_diagnostics_appear_and_clear_after_a_fix(self):
        self.client.initialize()
        uri = self.client.open(self.path("policy.gov"), BROKEN, version=1)
        diagnostics = self.client.diagnostics(uri, version=1)
        unknown = [d for d in diagnostics if d["code"] == "GOV2003"]
        self.assertEqual(len(unknown), 1, diagnostics)
        start = position_of(BROKEN, "workspce")
        self.assertEqual(unknown[0]["range"]["start"], start)
        self.assertEqual(unknown[0]["range"]["end"], {"line": start["line"], "character": start["character"] + 8})
        self.assertEqual(unknown[0]["severity"], 1)
        self.assertIn("`workspce` is not declared", unknown[0]["message"])
        self.assertIn("did you mean `workspace`?", unknown[0]["message"])

        self.client.change(uri, FIXED, 2)
        self.assertEqual(self.client.diagnostics(uri, version=2), [])

        # Lint findings come too: an unused constant is GOV3001-style data from the linter.
        unused = FIXED.replace('const workspace: path = "/work/repo"',
                               'const workspace: path = "/work/repo"\n\nconst spare: int = 1')
        self.client.change(uri, unused, 3)
        lints = self.client.diagnostics(uri, version=3)
        self.assertTrue(any(d["code"].startswith("GOV3") and "spare" in d["message"] for d in lints), lints)

        self.client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        self.assertEqual(self.client.diagnostics(uri), [])
        self.assertEqual(self.client.finish(), 0)

    def test_code_action_applies_the_did_you_mean(self):
        self.client.initialize()
        uri = self.client.open(self.path("policy.gov"), BROKEN)
        diagnostics = self.client.diagnostics(uri)
        target = next(d for d in diagnostics if d["code"] == "GOV2003")
        actions = self.client.result("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": target["range"], "context": {"diagnostics": [target]}})
        self.assertEqual(len(actions), 1, actions)
        action = actions[0]
        self.assertEqual(action["kind"], "quickfix")
        edits = action["edit"]["changes"][uri]
        self.assertEqual(edits, [{"range": target["range"], "newText": "workspace"}])
        # A range without a fixable diagnostic gets no action.
        none = self.client.result("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0},
                                                    "end": {"line": 0, "character": 3}},
            "context": {"diagnostics": []}})
        self.assertEqual(none, [])
        # Applied as the editor would (UTF-16 columns), the fix clears the error.
        lines = BROKEN.split("\n")
        line = lines[edits[0]["range"]["start"]["line"]]
        units = line.encode("utf-16-le")
        start, end = edits[0]["range"]["start"]["character"], edits[0]["range"]["end"]["character"]
        lines[edits[0]["range"]["start"]["line"]] = (units[:2 * start].decode("utf-16-le") + edits[0]["newText"]
                                                    + units[2 * end:].decode("utf-16-le"))
        self.assertEqual("\n".join(lines), FIXED)
        self.client.change(uri, "\n".join(lines), 2)
        self.assertEqual(self.client.diagnostics(uri, version=2), [])
        self.assertEqual(self.client.finish(), 0)

    def test_hover_on_a_rule_and_on_a_std_function(self):
        self.client.initialize()
        uri = self.client.open(self.path("policy.gov"), FIXED)
        self.client.diagnostics(uri)
        rule = self.client.result("textDocument/hover", {
            "textDocument": {"uri": uri}, "position": position_of(FIXED, "read_files", delta=2)})
        text = rule["contents"]["value"]
        self.assertIn("allow read_files", text)
        self.assertIn('because "reading is harmless"', text)
        self.assertIn("timeout = 10m", text)
        self.assertIn("network = none", text)
        self.assertEqual(rule["range"]["start"], position_of(FIXED, "read_files"))

        function = self.client.result("textDocument/hover", {
            "textDocument": {"uri": uri}, "position": position_of(FIXED, "runs_inline_code", delta=3)})
        text = function["contents"]["value"]
        self.assertIn("def runs_inline_code(", text)
        self.assertIn("): bool", text)
        self.assertIn("shell.gov", text)

        constant = self.client.result("textDocument/hover", {
            "textDocument": {"uri": uri}, "position": position_of(FIXED, "workspace", occurrence=1, delta=1)})
        self.assertIn('const workspace: path = "/work/repo"', constant["contents"]["value"])
        field = self.client.result("textDocument/hover", {
            "textDocument": {"uri": uri}, "position": position_of(FIXED, "invoked.path", delta=9)})
        self.assertIn("path: path", field["contents"]["value"])
        self.assertEqual(self.client.finish(), 0)

    def test_definition_reaches_into_the_stdlib_and_the_file(self):
        self.client.initialize()
        uri = self.client.open(self.path("policy.gov"), FIXED)
        self.client.diagnostics(uri)
        location = self.client.result("textDocument/definition", {
            "textDocument": {"uri": uri}, "position": position_of(FIXED, "runs_inline_code", delta=4)})
        stdlib_shell = os.path.join(SOURCE_DIR, "stdlib", "shell.gov")
        self.assertEqual(location["uri"], file_uri(stdlib_shell))
        with open(stdlib_shell, encoding="utf-8") as f:
            shell_text = f.read()
        self.assertEqual(location["range"]["start"], position_of(shell_text, "runs_inline_code(", delta=0))
        self.assertTrue(shell_text.split("\n")[location["range"]["start"]["line"]].startswith("def runs_inline_code"))

        local = self.client.result("textDocument/definition", {
            "textDocument": {"uri": uri}, "position": position_of(FIXED, "workspace", occurrence=1)})
        self.assertEqual(local["uri"], uri)
        self.assertEqual(local["range"]["start"], position_of(FIXED, "workspace"))

        module = self.client.result("textDocument/definition", {
            "textDocument": {"uri": uri}, "position": position_of(FIXED, "std.shell", delta=5)})
        self.assertTrue(module["uri"].endswith("/stdlib/shell.gov"), module)
        self.assertEqual(self.client.finish(), 0)

    def test_a_rule_imported_with_rules_is_found_from_a_test(self):
        org = ('policy org version "1.0.0"\n\n'
               'deny force_push when\n    "--force" in args\n    because "force pushes rewrite history"\n')
        with open(self.path("org.gov"), "w", encoding="utf-8") as f:
            f.write(org)
        repo = ('policy repo version "1.0.0"\n\nimport "org.gov" with rules\n\n'
                'test "t" {\n  exec ["/usr/bin/git", "push", "--force"] => deny by org.force_push\n}\n')
        self.client.initialize()
        uri = self.client.open(self.path("repo.gov"), repo)
        self.assertEqual(self.client.diagnostics(uri), [])
        at = position_of(repo, "org.force_push", delta=6)
        hover = self.client.result("textDocument/hover", {"textDocument": {"uri": uri}, "position": at})
        self.assertIn("deny force_push", hover["contents"]["value"])
        self.assertIn('because "force pushes rewrite history"', hover["contents"]["value"])
        self.assertEqual(hover["range"]["start"], position_of(repo, "org.force_push"))
        location = self.client.result("textDocument/definition", {"textDocument": {"uri": uri}, "position": at})
        self.assertEqual(location["uri"], file_uri(self.path("org.gov")))
        self.assertEqual(location["range"]["start"], position_of(org, "force_push"))
        self.assertEqual(self.client.finish(), 0)

    def test_completion_offers_fields_functions_and_modules(self):
        self.client.initialize()
        text = FIXED.replace("deny inline_code when", "deny inline_code when program. and shell. and\n   ")
        uri = self.client.open(self.path("policy.gov"), text)
        self.client.diagnostics(uri)

        def labels(position):
            result = self.client.result("textDocument/completion",
                                        {"textDocument": {"uri": uri}, "position": position})
            return {item["label"] for item in result["items"]}

        self.assertTrue({"path", "name", "sha256"} <= labels(position_of(text, "program. ", delta=8)))
        shell = labels(position_of(text, "shell. ", delta=6))
        self.assertTrue({"runs_inline_code", "is_destructive", "shells"} <= shell, shell)
        everything = labels(position_of(text, "deny inline_code", delta=0))
        self.assertTrue({"args", "invoked", "program", "cwd", "len", "path", "workspace", "shell", "allow"} <= everything)
        self.assertTrue({"shell", "git", "paths", "pkg"} <= labels(position_of(text, "std.shell", delta=4)))
        self.assertEqual(self.client.finish(), 0)

    def test_formatting_matches_govc_fmt(self):
        self.client.initialize()
        messy = 'policy   messy\nconst  a:int=1\nallow   x when  args[0]=="a"  and len(args)>a // note\n'
        path = self.path("messy.gov")
        with open(path, "w", encoding="utf-8") as f:
            f.write(messy)
        expected = subprocess.run([GOVC, "fmt", "--stdout", path], capture_output=True, check=True,
                                  timeout=WAIT_SECONDS).stdout.decode("utf-8")
        self.assertNotEqual(expected, messy)
        uri = self.client.open(path, messy)
        edits = self.client.result("textDocument/formatting", {
            "textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": True}})
        self.assertEqual(len(edits), 1)
        self.assertEqual(edits[0]["range"]["start"], {"line": 0, "character": 0})
        self.assertEqual(edits[0]["range"]["end"], {"line": 3, "character": 0})
        self.assertEqual(edits[0]["newText"], expected)

        self.client.change(uri, expected, 2)
        self.assertEqual(self.client.result("textDocument/formatting", {
            "textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": True}}), [])
        self.client.change(uri, "policy broken\nallow when (\n", 3)
        self.assertEqual(self.client.result("textDocument/formatting", {
            "textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": True}}), [])
        self.assertEqual(self.client.finish(), 0)

    def test_malformed_input_is_answered_and_survived(self):
        self.client.initialize()
        self.client.send_raw(b"Content-Length: 9\r\n\r\n{not json")
        self.assertEqual(self.client.response(None)["error"]["code"], -32700)
        self.client.send_raw(b"Content-Type: application/json\r\n\r\n")
        self.assertEqual(self.client.response(None)["error"]["code"], -32700)
        self.client.send_raw(b"Content-Length: twelve\r\n\r\n")
        self.assertEqual(self.client.response(None)["error"]["code"], -32700)
        self.client.send_raw(b"Content-Length: 2\r\n\r\n\xff\xfe")
        self.assertEqual(self.client.response(None)["error"]["code"], -32700)
        deep = b"[" * 100000 + b"]" * 100000
        self.client.send_raw(b"Content-Length: %d\r\n\r\n" % len(deep) + deep)
        self.assertEqual(self.client.response(None)["error"]["code"], -32700)
        self.client.send({"jsonrpc": "2.0", "id": {"not": "an id"}, "method": "shutdown"})
        self.assertEqual(self.client.response(None)["error"]["code"], -32600)
        self.client.send([1, 2])
        self.assertEqual(self.client.response(None)["error"]["code"], -32600)
        self.assertEqual(self.client.request("no/such/method", {})["error"]["code"], -32601)
        self.client.notify("no/such/notification", {})
        self.client.notify("textDocument/didOpen", {"textDocument": 42})
        # Wrong parameter types are an error for the request, not a crash.
        response = self.client.request("textDocument/hover", {"textDocument": {"uri": 7}, "position": "x"})
        self.assertEqual(response["error"]["code"], -32602)
        response = self.client.request("textDocument/hover", {
            "textDocument": {"uri": "file:///not/open.gov"}, "position": {"line": 0, "character": 0}})
        self.assertEqual(response["error"]["code"], -32602)
        # Positions beyond the text are clamped; fractional or huge numbers are refused, not converted.
        uri = self.client.open(self.path("p.gov"), FIXED)
        self.client.diagnostics(uri)
        self.client.result("textDocument/hover", {
            "textDocument": {"uri": uri}, "position": {"line": 10**9, "character": 10**9}})
        for position in ({"line": 1.5, "character": 0}, {"line": 1e300, "character": 0}, {"line": -1, "character": "x"}):
            response = self.client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": position})
            self.assertEqual(response["error"]["code"], -32602)
        self.client.result("textDocument/hover", {
            "textDocument": {"uri": uri}, "position": {"line": -5, "character": 2**64 - 1}})
        # Still serving, and nothing stray was sent for the notifications.
        self.assertEqual(self.client.pending, [])
        self.assertEqual(self.client.finish(), 0)
        self.assertNotIn(b"AddressSanitizer", self.client.stderr)

    def test_huge_content_length_is_not_allocated(self):
        self.client.initialize()
        self.client.send_raw(b"Content-Length: 999999999999999\r\n\r\n{}")
        self.client.proc.stdin.close()
        self.assertEqual(self.client.wait_exit(), 1)

    def test_shutdown_then_exit_is_0_and_exit_alone_is_1(self):
        self.client.initialize()
        self.client.result("shutdown")
        self.assertEqual(self.client.request("textDocument/hover", {})["error"]["code"], -32600)
        self.client.notify("exit", None)
        self.assertEqual(self.client.wait_exit(), 0)

        other = Client()
        try:
            other.initialize()
            self.assertEqual(other.finish(shutdown=False), 1)
        finally:
            other.close()
        closed = Client()
        try:
            closed.initialize()
            closed.proc.stdin.close()
            self.assertEqual(closed.wait_exit(), 1)
        finally:
            closed.close()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: lsp_test.py GOVC SOURCE_DIR [unittest arguments]")
    GOVC, SOURCE_DIR = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0], "-v", *sys.argv[3:]])
