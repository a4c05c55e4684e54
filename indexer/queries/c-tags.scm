; Definitions: @name.definition.<kind> is the name, @definition.<kind> the whole unit.
; Prototypes (in headers) and definitions (in .c files) are both functions. Enums are types:
; C enumerators are file-scope names, so they must not be scoped by their enum.

(function_definition
  declarator: [
    (function_declarator declarator: (identifier) @name.definition.function)
    (pointer_declarator
      declarator: (function_declarator declarator: (identifier) @name.definition.function))
    (pointer_declarator
      declarator: (pointer_declarator
        declarator: (function_declarator declarator: (identifier) @name.definition.function)))
  ]) @definition.function

(declaration
  declarator: [
    (function_declarator declarator: (identifier) @name.definition.function)
    (pointer_declarator
      declarator: (function_declarator declarator: (identifier) @name.definition.function))
    (pointer_declarator
      declarator: (pointer_declarator
        declarator: (function_declarator declarator: (identifier) @name.definition.function)))
  ]) @definition.function

(struct_specifier
  name: (type_identifier) @name.definition.struct
  body: (field_declaration_list)) @definition.struct

(union_specifier
  name: (type_identifier) @name.definition.struct
  body: (field_declaration_list)) @definition.struct

(enum_specifier
  name: (type_identifier) @name.definition.type
  body: (enumerator_list)) @definition.type

(enumerator
  name: (identifier) @name.definition.constant) @definition.constant

; typedef struct { ... } name_t;  -- the struct is known by its typedef name
(type_definition
  type: [
    (struct_specifier !name body: (field_declaration_list))
    (union_specifier !name body: (field_declaration_list))
  ]
  declarator: (type_identifier) @name.definition.struct) @definition.struct

; every other typedef, function pointer types included
(type_definition
  type: [
    (primitive_type)
    (type_identifier)
    (sized_type_specifier)
    (struct_specifier name: (_))
    (union_specifier name: (_))
    (enum_specifier)
  ]
  declarator: [
    (type_identifier) @name.definition.type
    (pointer_declarator declarator: (type_identifier) @name.definition.type)
    (function_declarator
      declarator: (parenthesized_declarator
        (pointer_declarator declarator: (type_identifier) @name.definition.type)))
    (array_declarator declarator: (type_identifier) @name.definition.type)
  ]) @definition.type

(field_declaration
  declarator: [
    (field_identifier) @name.definition.field
    (pointer_declarator declarator: (field_identifier) @name.definition.field)
    (pointer_declarator
      declarator: (pointer_declarator declarator: (field_identifier) @name.definition.field))
    (array_declarator declarator: (field_identifier) @name.definition.field)
    (function_declarator
      declarator: (parenthesized_declarator
        (pointer_declarator declarator: (field_identifier) @name.definition.field)))
  ]) @definition.field

; object-like macros with a value (an include guard's bare #define is not a definition)
(preproc_def
  name: (identifier) @name.definition.macro
  value: (_)) @definition.macro

(preproc_function_def
  name: (identifier) @name.definition.macro) @definition.macro

; file-scope variables (also inside include guards and #if blocks)
([
  (translation_unit
    (declaration
      declarator: [
        (identifier) @name.definition.variable
        (pointer_declarator declarator: (identifier) @name.definition.variable)
        (array_declarator declarator: (identifier) @name.definition.variable)
        (init_declarator
          declarator: [
            (identifier) @name.definition.variable
            (pointer_declarator declarator: (identifier) @name.definition.variable)
            (array_declarator declarator: (identifier) @name.definition.variable)
            (pointer_declarator
              declarator: (array_declarator declarator: (identifier) @name.definition.variable))
          ])
      ]) @definition.variable)
  (preproc_ifdef
    (declaration
      declarator: [
        (identifier) @name.definition.variable
        (pointer_declarator declarator: (identifier) @name.definition.variable)
        (array_declarator declarator: (identifier) @name.definition.variable)
        (init_declarator
          declarator: [
            (identifier) @name.definition.variable
            (pointer_declarator declarator: (identifier) @name.definition.variable)
            (array_declarator declarator: (identifier) @name.definition.variable)
            (pointer_declarator
              declarator: (array_declarator declarator: (identifier) @name.definition.variable))
          ])
      ]) @definition.variable)
  (preproc_if
    (declaration
      declarator: [
        (identifier) @name.definition.variable
        (pointer_declarator declarator: (identifier) @name.definition.variable)
        (array_declarator declarator: (identifier) @name.definition.variable)
        (init_declarator
          declarator: [
            (identifier) @name.definition.variable
            (pointer_declarator declarator: (identifier) @name.definition.variable)
            (array_declarator declarator: (identifier) @name.definition.variable)
          ])
      ]) @definition.variable)
])

; References: calls (functions, function pointers, function-like macros) and types.

(call_expression
  function: (identifier) @name.reference.call)

(call_expression
  function: (field_expression field: (field_identifier) @name.reference.call))

(type_identifier) @name.reference.type
