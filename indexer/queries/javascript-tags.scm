; JavaScript (and JSX) definitions and references.
; @name.definition.<kind> is the name, @definition.<kind> the whole unit; scopes come from span
; containment (a method's class), or from @scope for `Foo.prototype.bar = function`.
; Captures starting with "_" only feed predicates.

; -- classes and functions ---------------------------------------------------------------------

(class_declaration
  name: (identifier) @name.definition.class) @definition.class

; a named class expression: `module.exports = class Bar {}`
(class
  name: (identifier) @name.definition.class) @definition.class

(function_declaration
  name: (identifier) @name.definition.function) @definition.function

(generator_function_declaration
  name: (identifier) @name.definition.function) @definition.function

; `const f = () => {}` / `let f = function () {}` (the declaration is the unit, so its leading
; comment is the doc and `export` wraps it)
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
  ]) @definition.variable

; CommonJS named exports: `exports.f = function () {}`, `module.exports.f = () => {}`
(expression_statement
  (assignment_expression
    left: (member_expression
      object: [(identifier) (member_expression)] @_exports
      property: (property_identifier) @name.definition.function)
    right: [(arrow_function) (function_expression)])
  (#match? @_exports "^(module\\.)?exports$")) @definition.function

; prototype methods: `Foo.prototype.bar = function () {}`
(expression_statement
  (assignment_expression
    left: (member_expression
      object: (member_expression
        object: (identifier) @scope
        property: (property_identifier) @_prototype)
      property: (property_identifier) @name.definition.method)
    right: [(arrow_function) (function_expression)])
  (#eq? @_prototype "prototype")) @definition.method

; -- class members -----------------------------------------------------------------------------

(class_body
  (method_definition
    name: (_) @name.definition.method) @definition.method)

(class_body
  (field_definition
    property: (_) @name.definition.field) @definition.field)

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

(class_heritage
  (identifier) @name.reference.class)

(class_heritage
  (member_expression
    property: (property_identifier) @name.reference.class))

((jsx_opening_element
  name: (identifier) @name.reference.class)
  (#match? @name.reference.class "^[A-Z]"))

((jsx_self_closing_element
  name: (identifier) @name.reference.class)
  (#match? @name.reference.class "^[A-Z]"))

(jsx_opening_element
  name: (member_expression
    property: (property_identifier) @name.reference.class))

(jsx_self_closing_element
  name: (member_expression
    property: (property_identifier) @name.reference.class))
