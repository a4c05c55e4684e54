-- repolens for Neovim 0.7+ (built-in LSP client, no plugins needed).
--
-- Starts `repolens lsp` once per git repository and attaches it to buffers of the languages
-- repolens indexes. Neovim has no inline (ghost text) completion before 0.12, so the server's
-- `textDocument/completion` fallback is used: one item carrying the whole suggestion.
--
--   * <C-x><C-o> in insert mode (omnifunc) lists it; multi-line suggestions are inserted
--     exactly by :RepolensComplete (or require('repolens').complete(), map it to a key).
--   * :RepolensStatus shows the index and model state.
--   * :RepolensAsk {question}, :'<,'>RepolensExplain, :'<,'>RepolensComment (an undoable edit),
--     :'<,'>RepolensTranslate {language}, :RepolensCommitMessage (into a gitcommit buffer, or
--     shown), :RepolensReindex. Answers open in a scratch split; its `path:line` sources open
--     with gF.
--
-- Use it either way:
--   1. copy this file to ~/.config/nvim/lua/repolens.lua and in init.lua:
--        require('repolens').setup({ settings = { completion = { max_tokens = 64 } } })
--   2. or run it as the whole config: nvim -u /path/to/repolens.lua file.py
--      (options then come from `vim.g.repolens`, e.g. set with --cmd "lua vim.g.repolens={...}")
--
-- Options (all optional):
--   cmd           the server command             default { 'repolens', 'lsp' }
--   settings      repolens settings (lsp/README.md), sent as the "repolens" section
--   init_options  initializationOptions          default: same as settings
--   filetypes     where to attach                default: the languages repolens indexes
--   keymap        insert-mode key for complete() default nil (e.g. '<M-CR>')

local M = {}

M.config = {
  cmd = { 'repolens', 'lsp' },
  settings = {},
  init_options = nil,
  filetypes = {
    'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact',
    'go', 'rust', 'java', 'c', 'cpp',
  },
  keymap = nil,
}

M.clients = {} -- repository root -> client id

-- The git work tree containing the buffer's file (a .git directory or file), or nil.
local function find_root(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' then
    return nil
  end
  local dir = vim.fn.fnamemodify(name, ':p:h')
  local git_dir = vim.fn.finddir('.git', dir .. ';')
  if git_dir ~= '' then
    return vim.fn.fnamemodify(git_dir, ':p:h:h')
  end
  local git_file = vim.fn.findfile('.git', dir .. ';')
  if git_file ~= '' then
    return vim.fn.fnamemodify(git_file, ':p:h')
  end
  return nil
end

local function client_for(root)
  local id = M.clients[root]
  if id and vim.lsp.get_client_by_id(id) then
    return id
  end
  id = vim.lsp.start_client({
    name = 'repolens',
    cmd = M.config.cmd,
    root_dir = root,
    workspace_folders = {
      { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ':t') },
    },
    -- answered to the server's workspace/configuration request (section "repolens")
    settings = { repolens = M.config.settings },
    init_options = M.config.init_options or M.config.settings,
    flags = { debounce_text_changes = 80 },
  })
  M.clients[root] = id
  return id
end

-- Attach repolens to a buffer (called for every buffer of the configured filetypes).
function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local root = find_root(bufnr)
  if not root then
    return nil
  end
  local id = client_for(root)
  if not id then
    vim.notify('repolens: could not start ' .. table.concat(M.config.cmd, ' '), vim.log.levels.ERROR)
    return nil
  end
  vim.lsp.buf_attach_client(bufnr, id)
  vim.api.nvim_buf_set_option(bufnr, 'omnifunc', 'v:lua.vim.lsp.omnifunc')
  if M.config.keymap then
    vim.api.nvim_buf_set_keymap(bufnr, 'i', M.config.keymap,
      "<Cmd>lua require('repolens').complete()<CR>", { noremap = true, silent = true })
  end
  return id
end

local function repolens_client(bufnr)
  for _, client in pairs(vim.lsp.buf_get_clients(bufnr)) do
    if client.name == 'repolens' then
      return client
    end
  end
  return nil
end

-- The buffer's repolens client, or nil after telling the user it is not attached.
local function attached_client(bufnr)
  local client = repolens_client(bufnr)
  if not client then
    vim.notify('repolens: not attached to this buffer', vim.log.levels.WARN)
  end
  return client
end

-- Ask for the suggestion at the cursor and insert all of it (multi-line included).
function M.complete()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = attached_client(bufnr)
  if not client then
    return
  end
  local params = vim.lsp.util.make_position_params()
  params.context = { triggerKind = 1 } -- invoked: no debounce
  client.request('textDocument/completion', params, function(err, result)
    if err then
      vim.notify('repolens: ' .. (err.message or tostring(err)), vim.log.levels.WARN)
      return
    end
    local items = result and (result.items or result) or {}
    if #items == 0 or not items[1].textEdit then
      vim.notify('repolens: no suggestion here', vim.log.levels.INFO)
      return
    end
    vim.lsp.util.apply_text_edits({ items[1].textEdit }, bufnr, client.offset_encoding)
  end, bufnr)
end

-- :RepolensStatus: the index and model of the current buffer's repository.
function M.status()
  local client = attached_client(vim.api.nvim_get_current_buf())
  if not client then
    return
  end
  client.request('workspace/executeCommand', { command = 'repolens.status', arguments = {} },
    function(err, result)
      if err then
        vim.notify('repolens: ' .. (err.message or tostring(err)), vim.log.levels.WARN)
        return
      end
      for _, folder in ipairs(result.folders or {}) do
        local index = folder.index or {}
        vim.notify(string.format('repolens %s: %s files, %s symbols%s; model %s%s',
          folder.root, index.files or '?', index.symbols or '?',
          folder.indexing and ' (indexing)' or '',
          (folder.model or {}).name or (folder.model or {}).backend or '?',
          folder.model_problem and (' - ' .. folder.model_problem) or ''))
      end
    end)
end

-- Run a repolens command for the current buffer; `done(result, client)` gets the answer.
-- The last answer (or error) is kept in M.last = { kind, result | error, buf } for scripts.
local function run_command(command, kind, arguments, done, what)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = attached_client(bufnr)
  if not client then
    return
  end
  if next(arguments) == nil then
    arguments = vim.empty_dict() -- an object, not an empty JSON array
  end
  vim.notify('repolens: ' .. (what or command) .. '…')
  client.request('workspace/executeCommand', { command = command, arguments = { arguments } },
    function(err, result)
      if err then
        M.last = { kind = kind, error = err.message or tostring(err) }
        vim.notify('repolens: ' .. M.last.error, vim.log.levels.WARN)
        return
      end
      done(result, client)
    end, bufnr)
end

-- Show text in a scratch split (one per call); `path:line` lines open with gF.
local function show(title, lines)
  vim.cmd('botright new')
  local buf = vim.api.nvim_get_current_buf()
  vim.api.nvim_buf_set_option(buf, 'buftype', 'nofile')
  vim.api.nvim_buf_set_option(buf, 'bufhidden', 'wipe')
  vim.api.nvim_buf_set_option(buf, 'swapfile', false)
  vim.api.nvim_buf_set_option(buf, 'filetype', 'markdown')
  pcall(vim.api.nvim_buf_set_name, buf, title)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.api.nvim_buf_set_option(buf, 'modified', false)
  return buf
end

local function text_lines(text)
  return vim.split(text or '', '\n', true)
end

local function sources_lines(client, sources)
  local lines = {}
  if sources and #sources > 0 then
    table.insert(lines, '')
    table.insert(lines, 'Sources (gF opens one):')
    local root = client.config.root_dir or ''
    for _, s in ipairs(sources) do
      table.insert(lines, string.format('%s/%s:%d', root, s.path, s.start_line))
    end
  end
  return lines
end

-- The LSP range of a command's line range (0-based, end exclusive: the next line's start).
local function line_range(opts)
  return {
    start = { line = opts.line1 - 1, character = 0 },
    ['end'] = { line = opts.line2, character = 0 },
  }
end

-- :RepolensAsk {question}: answer a question about the repository.
function M.ask(question)
  if not question or question == '' then
    question = vim.fn.input('Ask the repository: ')
  end
  if question == '' then
    return
  end
  run_command('repolens.ask', 'ask', { question = question, uri = vim.uri_from_bufnr(0) },
    function(result, client)
      local lines = { '# ' .. question, '' }
      vim.list_extend(lines, text_lines(result.answer))
      vim.list_extend(lines, sources_lines(client, result.sources))
      M.last = { kind = 'ask', result = result, buf = show('repolens: ask', lines) }
    end, 'answering')
end

-- :'<,'>RepolensExplain: explain the selected lines.
function M.explain(opts)
  run_command('repolens.explain', 'explain', { uri = vim.uri_from_bufnr(0), range = line_range(opts) },
    function(result)
      local lines = { string.format('# %s:%d-%d', result.path, result.start_line, result.end_line), '' }
      vim.list_extend(lines, text_lines(result.text))
      M.last = { kind = 'explain', result = result, buf = show('repolens: explain', lines) }
    end, 'explaining')
end

-- :'<,'>RepolensComment: add comments to the selected lines (one undoable edit).
function M.add_comments(opts)
  run_command('repolens.addComments', 'comment', { uri = vim.uri_from_bufnr(0), range = line_range(opts) },
    function(edit, client)
      vim.lsp.util.apply_workspace_edit(edit, client.offset_encoding)
      M.last = { kind = 'comment', result = edit }
      vim.notify('repolens: comments added (u undoes them)')
    end, 'adding comments')
end

-- :'<,'>RepolensTranslate {language}: the selected lines in another language, in a split.
function M.translate(opts)
  local target = opts.args
  if target == '' then
    target = vim.fn.input('Translate to: ')
  end
  if target == '' then
    return
  end
  run_command('repolens.translate', 'translate',
    { uri = vim.uri_from_bufnr(0), range = line_range(opts), target_language = target },
    function(result)
      local buf = show('repolens: ' .. target, text_lines(result.text))
      pcall(vim.api.nvim_buf_set_option, buf, 'filetype', string.lower(target))
      M.last = { kind = 'translate', result = result, buf = buf }
    end, 'translating')
end

-- :RepolensCommitMessage: a message for the staged change, into the commit buffer if this is
-- one (git commit's editor), else shown in a split.
function M.commit_message()
  local bufnr = vim.api.nvim_get_current_buf()
  run_command('repolens.commitMessage', 'commit', { staged = true }, function(result)
    local lines = text_lines(result.text)
    if vim.bo[bufnr].filetype == 'gitcommit' then
      vim.api.nvim_buf_set_lines(bufnr, 0, 0, false, lines)
    else
      show('repolens: commit message', lines)
    end
    M.last = { kind = 'commit', result = result }
  end, 'writing a commit message')
end

-- :RepolensReindex: bring the index up to date.
function M.reindex()
  run_command('repolens.reindex', 'reindex', {}, function(result)
    for _, folder in ipairs(result.folders or {}) do
      vim.notify(string.format('repolens: %s indexed: %s files, %s changed',
        folder.uri, folder.files or '?', folder.files_changed or '?'))
    end
    M.last = { kind = 'reindex', result = result }
  end, 'indexing')
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', M.config, opts or {})
  package.loaded['repolens'] = M
  local group = vim.api.nvim_create_augroup('repolens', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = M.config.filetypes,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  vim.api.nvim_create_user_command('RepolensComplete', M.complete, {})
  vim.api.nvim_create_user_command('RepolensStatus', M.status, {})
  vim.api.nvim_create_user_command('RepolensAsk', function(o) M.ask(o.args) end, { nargs = '*' })
  vim.api.nvim_create_user_command('RepolensExplain', M.explain, { range = true })
  vim.api.nvim_create_user_command('RepolensComment', M.add_comments, { range = true })
  vim.api.nvim_create_user_command('RepolensTranslate', M.translate, { range = true, nargs = '?' })
  vim.api.nvim_create_user_command('RepolensCommitMessage', M.commit_message, {})
  vim.api.nvim_create_user_command('RepolensReindex', M.reindex, {})
  return M
end

-- Run as a config file (nvim -u repolens.lua) rather than required as a module: set up now.
if ... == nil then
  M.setup(vim.g.repolens or {})
end

return M
