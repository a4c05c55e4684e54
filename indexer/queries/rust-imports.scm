; One match per statement; the Rust resolver expands the use-tree into one binding per name.
; @import          the statement (a `pub` visibility makes it a re-export)
; @import.module   the use-tree (`crate::a::{b, c::D as E}`) or an `extern crate` name
; @import.name     the module a `mod foo;` declaration binds (its file is foo.rs or foo/mod.rs)

(use_declaration
  argument: (_) @import.module) @import

(mod_item
  name: (identifier) @import.name
  !body) @import

(extern_crate_declaration
  name: (identifier) @import.module) @import
