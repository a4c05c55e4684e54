; Definitions: @name.definition.<kind> is the name, @definition.<kind> the whole unit.
; "function" inside a class becomes "method"; enclosing scopes come from span containment.

(class_definition
  name: (identifier) @name.definition.class) @definition.class

(function_definition
  name: (identifier) @name.definition.function) @definition.function

; module-level and class-level assignments: constants, type aliases, fields
(module
  (expression_statement
    (assignment left: (identifier) @name.definition.variable) @definition.variable))

(class_definition
  body: (block
    (expression_statement
      (assignment left: (identifier) @name.definition.field) @definition.field)))

(type_alias_statement
  left: (type (identifier) @name.definition.type)) @definition.type

; References: what a file calls, instantiates, inherits and annotates with.

(call
  function: (identifier) @name.reference.call)

(call
  function: (attribute attribute: (identifier) @name.reference.call))

(class_definition
  superclasses: (argument_list (identifier) @name.reference.class))

(class_definition
  superclasses: (argument_list (attribute attribute: (identifier) @name.reference.class)))

(type (identifier) @name.reference.type)

(decorator (identifier) @name.reference.call)
