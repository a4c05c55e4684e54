; One match per import; the Java resolver reads `static` and `.*` off the statement.
; @import          the import declaration
; @import.module   the dotted name as written (a.b.C, a.b for `a.b.*`, a.b.C.member when static)
; @package         the package clause

(import_declaration
  [(identifier) (scoped_identifier)] @import.module) @import

(package_declaration
  [(identifier) (scoped_identifier)] @package)
