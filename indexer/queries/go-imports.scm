; One match per import spec, and the package clause.
; @import.module   the import path, quotes included (the resolver strips them)
; @import.alias    an explicit package name (`import f "fmt"`), `_` for a blank import
; @import.wildcard a dot import (`import . "math"`)
; @package         the file's package clause

(package_clause
  (package_identifier) @package)

(import_spec
  !name
  path: (_) @import.module) @import

(import_spec
  name: (package_identifier) @import.alias
  path: (_) @import.module) @import

(import_spec
  name: (blank_identifier) @import.alias
  path: (_) @import.module) @import

(import_spec
  name: (dot) @import.wildcard
  path: (_) @import.module) @import
