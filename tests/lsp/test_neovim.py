"""Neovim (Debian's 0.7) headless with the shipped config, extension/neovim/repolens.lua.

``nvim --headless -u repolens.lua FILE``: the config attaches repolens to the Python buffer; a
small test driver waits for the index, types into the buffer (unsaved), asks for completion
at the cursor and records the answer; then :RepolensComplete inserts the suggestion."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, require_tool

from .conftest import SMALL

pytestmark = [pytest.mark.e2e, pytest.mark.model]

CONFIG = REPO_ROOT / "extension" / "neovim" / "repolens.lua"

DRIVER = r"""
local out = os.getenv('REPOLENS_TEST_OUT')
local result = { steps = {} }
local function finish()
  local f = io.open(out, 'w')
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.cmd('qa!')
end
local function step(name) table.insert(result.steps, name) end

local attached = vim.wait(60000, function() return #vim.lsp.buf_get_clients(0) > 0 end, 50)
if not attached then step('not attached'); return finish() end
step('attached')
local client
for _, c in pairs(vim.lsp.buf_get_clients(0)) do client = c end
result.client = client.name
result.root = client.config.root_dir

local indexed = vim.wait(120000, function()
  local r = client.request_sync('workspace/executeCommand',
    { command = 'repolens.status', arguments = {} }, 10000, 0)
  return r and r.result and r.result.folders[1] and r.result.folders[1].indexed
end, 200)
if not indexed then step('not indexed'); return finish() end
step('indexed')

local typed = '    return welcome('
local n = vim.api.nvim_buf_line_count(0)
vim.api.nvim_buf_set_lines(0, n, n, false, { '', 'def greet(user):', typed })
local last = vim.api.nvim_buf_line_count(0)
local params = {
  textDocument = { uri = vim.uri_from_bufnr(0) },
  position = { line = last - 1, character = #typed },
}
local responses = vim.lsp.buf_request_sync(0, 'textDocument/completion', params, 120000)
result.completion = responses and responses[client.id] and responses[client.id].result
step('completed')

-- the user-facing command: insert the suggestion at the cursor
vim.api.nvim_win_set_cursor(0, { last, #typed })
vim.cmd('startinsert!')
vim.cmd('RepolensComplete')
vim.wait(60000, function()
  return vim.api.nvim_buf_get_lines(0, last - 1, last, false)[1] ~= typed
end, 50)
result.after = vim.api.nvim_buf_get_lines(0, last - 1, -1, false)
result.modified = vim.bo.modified
vim.cmd('stopinsert')

-- the commands users run: each answer lands in require('repolens').last
local repolens = require('repolens')
local function await(kind)
  local ok = vim.wait(120000, function()
    return repolens.last and repolens.last.kind == kind
  end, 50)
  if ok and repolens.last.error then result[kind .. '_error'] = repolens.last.error end
  if ok then step(kind) end
  return ok and repolens.last or nil
end
local src = vim.api.nvim_get_current_buf()
vim.cmd('RepolensReindex')
local r = await('reindex')
result.reindex = r and r.result

vim.cmd('RepolensAsk Where is a user added to the repository?')
r = await('ask')
if r then
  result.ask = r.result
  result.ask_buffer = vim.api.nvim_buf_get_lines(r.buf, 0, -1, false)
  vim.cmd('close')
end

vim.api.nvim_set_current_buf(src)
local before = vim.api.nvim_buf_get_lines(src, 0, -1, false)
vim.cmd('7,8RepolensComment')
r = await('comment')
result.commented = vim.api.nvim_buf_get_lines(src, 0, -1, false)
result.before_comment = before
vim.cmd('silent! undo')
result.undone = vim.api.nvim_buf_get_lines(src, 0, -1, false)
finish()
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal here


def _lua_table(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_lua_table(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "{" + ", ".join(_lua_table(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _lua_string(value)
    return str(value)


def test_neovim_attaches_and_gets_a_completion(
    fixture_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    require_tool(shutil.which("nvim") is not None, "neovim")
    root = fixture_repo("python_app")
    driver = tmp_path / "driver.lua"
    driver.write_text(DRIVER)
    out = tmp_path / "result.json"
    options = {
        "cmd": [sys.executable, "-m", "repolens.cli", "lsp"],
        "init_options": {
            **SMALL,
            "chat": {"budget_tokens": 256, "answer_tokens": 48, "temperature": 0},
        },
    }
    setup = f"lua vim.g.repolens = {_lua_table(options)}"
    env = dict(os.environ, REPOLENS_TEST_OUT=str(out), XDG_STATE_HOME=str(tmp_path / "state"))
    env["XDG_CACHE_HOME"] = str(tmp_path / "nvim-cache")  # Neovim 0.7 keeps lsp.log there
    proc = subprocess.run(
        [
            "nvim",
            "--headless",
            "--cmd",
            setup,
            "-u",
            str(CONFIG),
            "-c",
            f"luafile {driver}",
            "main.py",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        timeout=420,
        check=False,
    )
    assert out.exists(), proc.stderr.decode(errors="replace")[-3000:]
    result = json.loads(out.read_text())
    errors = {k: v for k, v in result.items() if k.endswith("_error") and k != "comment_error"}
    assert not errors, errors
    assert result["steps"] == [
        "attached",
        "indexed",
        "completed",
        "reindex",
        "ask",
        "comment",
    ], result
    assert result["client"] == "repolens"
    assert Path(result["root"]).resolve() == root.resolve()
    items = result["completion"]["items"]
    assert len(items) == 1
    new_text = items[0]["textEdit"]["newText"]
    assert new_text.strip()
    # :RepolensComplete inserted that suggestion into the (unsaved) buffer
    inserted = "\n".join(result["after"])
    assert inserted.startswith("    return welcome(") and inserted != "    return welcome("
    assert new_text.split("\n")[0] in inserted
    assert result["modified"] is True

    # :RepolensReindex, :RepolensAsk (answer and gF-able sources in a split), :RepolensComment
    assert result["reindex"]["folders"][0]["files"] >= 5
    assert result["ask"]["answer"].strip()
    shown = result["ask_buffer"]
    assert shown[0] == "# Where is a user added to the repository?"
    assert result["ask"]["answer"].split("\n")[0] in shown
    sources = [line for line in shown if line.startswith(str(result["root"]))]
    assert sources and all(Path(line.rsplit(":", 1)[0]).is_file() for line in sources)
    before, commented = result["before_comment"], result["commented"]
    if "comment_error" in result:
        # the 135M model rewrote the code: refused, and the buffer is left as it was
        assert "changed the code" in result["comment_error"], result["comment_error"]
        print("RepolensComment refused the model's version:", result["comment_error"])
        assert commented == before
    else:
        # comments applied as one edit (the code lines stay), and one undo restores the buffer
        assert commented != before
        for line in before[6:8]:
            assert line in commented
        assert result["undone"] == before
