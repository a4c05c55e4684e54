; One match per #include; an include brings every name of the header into view, so the C
; resolver makes it a wildcard import of the header file.
; @import          the #include line
; @import.module   "path.h" (quotes removed by the resolver) or <path.h> (brackets kept)

(preproc_include
  path: [(string_literal) (system_lib_string)] @import.module) @import
