; Go definitions and references.
; @name.definition.<kind> is the name, @definition.<kind> the whole unit. A method's @scope is
; its receiver's type name, so a struct's methods are found in every file of its package.
; A lone `type X ...` / `const X = ...` declaration is the unit (its comment is the doc and
; `type` is part of the signature); inside a `type ( ... )` group each spec is its own unit.

; -- functions and methods ---------------------------------------------------------------------

(function_declaration
  name: (identifier) @name.definition.function) @definition.function

(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @scope
        (pointer_type (type_identifier) @scope)
        (generic_type type: (type_identifier) @scope)
        (pointer_type (generic_type type: (type_identifier) @scope))
      ]))
  name: (field_identifier) @name.definition.method) @definition.method

; -- types -------------------------------------------------------------------------------------

((type_declaration
  (type_spec
    name: (type_identifier) @name.definition.struct
    type: (struct_type))) @definition.struct
  (#match? @definition.struct "^type[ \\t]*[^ \\t(]"))

((type_declaration
  (type_spec
    name: (type_identifier) @name.definition.interface
    type: (interface_type))) @definition.interface
  (#match? @definition.interface "^type[ \\t]*[^ \\t(]"))

((type_declaration
  (type_spec
    name: (type_identifier) @name.definition.type
    type: [(type_identifier) (qualified_type) (generic_type) (pointer_type) (slice_type) (array_type)
           (map_type) (function_type) (channel_type) (parenthesized_type)])) @definition.type
  (#match? @definition.type "^type[ \\t]*[^ \\t(]"))

((type_declaration
  (type_alias
    name: (type_identifier) @name.definition.type)) @definition.type
  (#match? @definition.type "^type[ \\t]*[^ \\t(]"))

(type_declaration
  "("
  (type_spec
    name: (type_identifier) @name.definition.struct
    type: (struct_type)) @definition.struct)

(type_declaration
  "("
  (type_spec
    name: (type_identifier) @name.definition.interface
    type: (interface_type)) @definition.interface)

(type_declaration
  "("
  (type_spec
    name: (type_identifier) @name.definition.type
    type: [(type_identifier) (qualified_type) (generic_type) (pointer_type) (slice_type) (array_type)
          (map_type) (function_type) (channel_type) (parenthesized_type)]) @definition.type)

(type_declaration
  "("
  (type_alias
    name: (type_identifier) @name.definition.type) @definition.type)

(field_declaration
  name: (field_identifier) @name.definition.field) @definition.field

(method_elem
  name: (field_identifier) @name.definition.method) @definition.method

; -- package-level constants and variables -----------------------------------------------------

(source_file
  (const_declaration
    (const_spec
      name: (identifier) @name.definition.constant)) @definition.constant
  (#match? @definition.constant "^const[ \\t]*[^ \\t(]"))

(source_file
  (const_declaration
    "("
    (const_spec
      name: (identifier) @name.definition.constant) @definition.constant))

(source_file
  (var_declaration
    (var_spec
      name: (identifier) @name.definition.variable)) @definition.variable)

(source_file
  (var_declaration
    (var_spec_list
      (var_spec
        name: (identifier) @name.definition.variable) @definition.variable)))

; -- references --------------------------------------------------------------------------------

(call_expression
  function: (identifier) @name.reference.call)

(call_expression
  function: (selector_expression
    field: (field_identifier) @name.reference.call))

(qualified_type
  name: (type_identifier) @name.reference.type)

(_
  type: (type_identifier) @name.reference.type)

(pointer_type
  (type_identifier) @name.reference.type)

(slice_type
  element: (type_identifier) @name.reference.type)

(array_type
  element: (type_identifier) @name.reference.type)

(map_type
  key: (type_identifier) @name.reference.type)

(map_type
  value: (type_identifier) @name.reference.type)

(channel_type
  value: (type_identifier) @name.reference.type)

(type_elem
  (type_identifier) @name.reference.type)

(function_declaration
  result: (type_identifier) @name.reference.type)

(method_declaration
  result: (type_identifier) @name.reference.type)
