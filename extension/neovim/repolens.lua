-- repolens for Neovim 0.7+ (built-in LSP client, no plugins needed).
--
-- Starts `repolens lsp` once per git repository and attaches it to buffers of the languages
-- repolens indexes. Neovim has no inline (ghost text) completion before 0.12, so the server's
-- `textDocument/completion` fallback is used: one item carrying the whole suggestion.
--
--   * <C-x><C-o> in insert mode (omnifunc) lists it; multi-line suggestions are inserted
--     exactly by :RepolensComplete (or require('repolens').complete(), map it to a key).
--   * :RepolensStatus shows the index and model state.
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

-- Ask for the suggestion at the cursor and insert all of it (multi-line included).
function M.complete()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = repolens_client(bufnr)
  if not client then
    vim.notify('repolens: not attached to this buffer', vim.log.levels.WARN)
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
  local client = repolens_client(vim.api.nvim_get_current_buf())
  if not client then
    vim.notify('repolens: not attached to this buffer', vim.log.levels.WARN)
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
  return M
end

-- Run as a config file (nvim -u repolens.lua) rather than required as a module: set up now.
if ... == nil then
  M.setup(vim.g.repolens or {})
end

return M
