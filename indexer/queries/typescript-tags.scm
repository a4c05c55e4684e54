; TypeScript definitions and references. Serves both the typescript and the tsx grammar, so it
; names no node that only one of them has (no JSX here, no `<T>x` type assertions).
; @name.definition.<kind> is the name, @definition.<kind> the whole unit; scopes come from span
; containment. Captures starting with "_" only feed predicates.

; -- classes, interfaces, types, enums, namespaces ---------------------------------------------

(class_declaration
  name: (type_identifier) @name.definition.class) @definition.class

(abstract_class_declaration
  name: (type_identifier) @name.definition.class) @definition.class

(class
  name: (type_identifier) @name.definition.class) @definition.class

(interface_declaration
  name: (type_identifier) @name.definition.interface) @definition.interface

(type_alias_declaration
  name: (type_identifier) @name.definition.type) @definition.type

(enum_declaration
  name: (identifier) @name.definition.enum) @definition.enum

(enum_body
  name: (property_identifier) @name.definition.field)

(enum_body
  (enum_assignment
    name: (property_identifier) @name.definition.field) @definition.field)

(internal_module
  name: (identifier) @name.definition.namespace) @definition.namespace

(module
  name: (identifier) @name.definition.namespace) @definition.namespace

; -- functions ---------------------------------------------------------------------------------

(function_declaration
  name: (identifier) @name.definition.function) @definition.function

(generator_function_declaration
  name: (identifier) @name.definition.function) @definition.function

; overloads and `declare function`
(function_signature
  name: (identifier) @name.definition.function) @definition.function

; `const f = (a: A): B => {}` (the declaration is the unit: its comment is the doc)
(lexical_declaration
  (variable_declarator
    name: (identifier) @name.definition.function
    value: [(arrow_function) (function_expression) (generator_function)])) @definition.function

(variable_declaration
  (variable_declarator
    name: (identifier) @name.definition.function
    value: [(arrow_function) (function_expression) (generator_function)])) @definition.function

(lexical_declaration
  (variable_declarator
    name: (identifier) @name.definition.class
    value: (class !name))) @definition.class

; anonymous default exports are defined under the name `default` (the keyword is the name node),
; which is what `import X from './m'` looks up
(export_statement
  "default" @name.definition.function
  value: [(function_expression !name) (arrow_function) (generator_function !name)] @definition.function)

(export_statement
  "default" @name.definition.class
  value: (class !name) @definition.class)

(export_statement
  "default" @name.definition.variable
  value: [
    (object)
    (array)
    (call_expression)
    (new_expression)
    (member_expression)
    (parenthesized_expression)
    (as_expression)
    (satisfies_expression)
  ]) @definition.variable

; -- members -----------------------------------------------------------------------------------

(class_body
  (method_definition
    name: (_) @name.definition.method) @definition.method)

(class_body
  (method_signature
    name: (_) @name.definition.method) @definition.method)

(class_body
  (abstract_method_signature
    name: (_) @name.definition.method) @definition.method)

(class_body
  (public_field_definition
    name: (_) @name.definition.field) @definition.field)

(interface_body
  (method_signature
    name: (_) @name.definition.method) @definition.method)

(interface_body
  (property_signature
    name: (_) @name.definition.field) @definition.field)

; -- module-level variables (not functions, classes or require() bindings) ---------------------

(program
  (lexical_declaration
    (variable_declarator
      name: (identifier) @name.definition.variable
      value: (_ !body) @_value)
    (#not-match? @_value "^require\\s*\\(")) @definition.variable)

(program
  (variable_declaration
    (variable_declarator
      name: (identifier) @name.definition.variable
      value: (_ !body) @_value)
    (#not-match? @_value "^require\\s*\\(")) @definition.variable)

(program
  (export_statement
    declaration: (lexical_declaration
      (variable_declarator
        name: (identifier) @name.definition.variable
        value: (_ !body))) @definition.variable))

(program
  (lexical_declaration
    (variable_declarator
      name: (identifier) @name.definition.variable
      !value)) @definition.variable)

(program
  (export_statement
    declaration: (lexical_declaration
      (variable_declarator
        name: (identifier) @name.definition.variable
        !value)) @definition.variable))

(program
  (ambient_declaration
    (lexical_declaration
      (variable_declarator
        name: (identifier) @name.definition.variable)) @definition.variable))

(program
  (export_statement
    declaration: (ambient_declaration
      (lexical_declaration
        (variable_declarator
          name: (identifier) @name.definition.variable)) @definition.variable)))

; -- references --------------------------------------------------------------------------------

((call_expression
  function: (identifier) @name.reference.call)
  (#not-eq? @name.reference.call "require"))

(call_expression
  function: (member_expression
    property: (property_identifier) @name.reference.call))

(new_expression
  constructor: (identifier) @name.reference.class)

(new_expression
  constructor: (member_expression
    property: (property_identifier) @name.reference.class))

(extends_clause
  value: (identifier) @name.reference.class)

(extends_clause
  value: (member_expression
    property: (property_identifier) @name.reference.class))

(decorator
  (identifier) @name.reference.call)

(implements_clause
  (type_identifier) @name.reference.type)

(extends_type_clause
  type: (type_identifier) @name.reference.type)

(type_annotation
  (type_identifier) @name.reference.type)

(generic_type
  name: (type_identifier) @name.reference.type)

(nested_type_identifier
  name: (type_identifier) @name.reference.type)

(type_arguments
  (type_identifier) @name.reference.type)

(union_type
  (type_identifier) @name.reference.type)

(intersection_type
  (type_identifier) @name.reference.type)

(array_type
  (type_identifier) @name.reference.type)

(function_type
  return_type: (type_identifier) @name.reference.type)

(type_alias_declaration
  value: (type_identifier) @name.reference.type)

(as_expression
  (type_identifier) @name.reference.type)

(satisfies_expression
  (type_identifier) @name.reference.type)
