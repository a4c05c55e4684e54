; Definitions: @name.definition.<kind> is the name, @definition.<kind> the whole unit.
; Namespaces, classes and structs are containers. An out-of-class definition `R Foo::bar()`
; (or `R ns::Foo::bar()`) carries @scope = Foo, the innermost qualifier, so it joins the
; members of class Foo declared in the header. `template <...>` wrappers belong to the unit.

(namespace_definition
  name: [(namespace_identifier) (nested_namespace_specifier)] @name.definition.namespace
  body: (declaration_list)) @definition.namespace

(class_specifier
  name: (type_identifier) @name.definition.class
  body: (field_declaration_list)) @definition.class

(struct_specifier
  name: (type_identifier) @name.definition.struct
  body: (field_declaration_list)) @definition.struct

(union_specifier
  name: (type_identifier) @name.definition.struct
  body: (field_declaration_list)) @definition.struct

(enum_specifier
  name: (type_identifier) @name.definition.enum
  body: (enumerator_list)) @definition.enum

(enumerator
  name: (identifier) @name.definition.constant) @definition.constant

; typedef struct { ... } name_t;
(type_definition
  type: [
    (struct_specifier !name body: (field_declaration_list))
    (union_specifier !name body: (field_declaration_list))
  ]
  declarator: (type_identifier) @name.definition.struct) @definition.struct

(type_definition
  type: [
    (primitive_type)
    (type_identifier)
    (sized_type_specifier)
    (qualified_identifier)
    (template_type)
    (struct_specifier name: (_))
    (class_specifier name: (_))
    (union_specifier name: (_))
    (enum_specifier)
  ]
  declarator: [
    (type_identifier) @name.definition.type
    (pointer_declarator declarator: (type_identifier) @name.definition.type)
    (function_declarator
      declarator: (parenthesized_declarator
        (pointer_declarator declarator: (type_identifier) @name.definition.type)))
  ]) @definition.type

(alias_declaration
  name: (type_identifier) @name.definition.type) @definition.type

; functions, and methods defined inside their class
(function_definition
  declarator: [
    (function_declarator
      declarator: [(identifier) (field_identifier) (destructor_name) (operator_name)]
        @name.definition.function)
    (pointer_declarator
      declarator: (function_declarator
        declarator: [(identifier) (field_identifier) (operator_name)] @name.definition.function))
    (reference_declarator
      (function_declarator
        declarator: [(identifier) (field_identifier) (operator_name)] @name.definition.function))
  ]) @definition.function

; out-of-class definitions: R Foo::bar(), R Foo<T>::bar(), Foo::~Foo(), Foo& Foo::operator=()
(function_definition
  declarator: [
    (function_declarator
      declarator: (qualified_identifier
        scope: [(namespace_identifier) @scope (template_type name: (type_identifier) @scope)]
        name: [(identifier) (destructor_name) (operator_name)] @name.definition.function))
    (pointer_declarator
      declarator: (function_declarator
        declarator: (qualified_identifier
          scope: [(namespace_identifier) @scope (template_type name: (type_identifier) @scope)]
          name: [(identifier) (operator_name)] @name.definition.function)))
    (reference_declarator
      (function_declarator
        declarator: (qualified_identifier
          scope: [(namespace_identifier) @scope (template_type name: (type_identifier) @scope)]
          name: [(identifier) (operator_name)] @name.definition.function)))
  ]) @definition.function

; R ns::Foo::bar(): the class is the inner qualifier
(function_definition
  declarator: [
    (function_declarator
      declarator: (qualified_identifier
        name: (qualified_identifier
          scope: [(namespace_identifier) @scope (template_type name: (type_identifier) @scope)]
          name: [(identifier) (destructor_name) (operator_name)] @name.definition.function)))
    (pointer_declarator
      declarator: (function_declarator
        declarator: (qualified_identifier
          name: (qualified_identifier
            scope: [(namespace_identifier) @scope (template_type name: (type_identifier) @scope)]
            name: [(identifier) (operator_name)] @name.definition.function))))
    (reference_declarator
      (function_declarator
        declarator: (qualified_identifier
          name: (qualified_identifier
            scope: [(namespace_identifier) @scope (template_type name: (type_identifier) @scope)]
            name: [(identifier) (operator_name)] @name.definition.function))))
  ]) @definition.function

; prototypes, and constructors/destructors declared in a class
(declaration
  declarator: [
    (function_declarator
      declarator: [(identifier) (destructor_name) (operator_name)] @name.definition.function)
    (pointer_declarator
      declarator: (function_declarator
        declarator: [(identifier) (operator_name)] @name.definition.function))
    (reference_declarator
      (function_declarator
        declarator: [(identifier) (operator_name)] @name.definition.function))
  ]) @definition.function

; methods declared in a class
(field_declaration
  declarator: [
    (function_declarator
      declarator: [(field_identifier) (destructor_name) (operator_name)]
        @name.definition.function)
    (pointer_declarator
      declarator: (function_declarator
        declarator: [(field_identifier) (operator_name)] @name.definition.function))
    (reference_declarator
      (function_declarator
        declarator: [(field_identifier) (operator_name)] @name.definition.function))
  ]) @definition.function

; data members
(field_declaration
  declarator: [
    (field_identifier) @name.definition.field
    (pointer_declarator declarator: (field_identifier) @name.definition.field)
    (reference_declarator (field_identifier) @name.definition.field)
    (array_declarator declarator: (field_identifier) @name.definition.field)
    (function_declarator
      declarator: (parenthesized_declarator
        (pointer_declarator declarator: (field_identifier) @name.definition.field)))
  ]) @definition.field

(preproc_def
  name: (identifier) @name.definition.macro
  value: (_)) @definition.macro

(preproc_function_def
  name: (identifier) @name.definition.macro) @definition.macro

; variables at file or namespace scope
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
            (reference_declarator (identifier) @name.definition.variable)
            (array_declarator declarator: (identifier) @name.definition.variable)
          ])
      ]) @definition.variable)
  (declaration_list
    (declaration
      declarator: [
        (identifier) @name.definition.variable
        (pointer_declarator declarator: (identifier) @name.definition.variable)
        (array_declarator declarator: (identifier) @name.definition.variable)
        (init_declarator
          declarator: [
            (identifier) @name.definition.variable
            (pointer_declarator declarator: (identifier) @name.definition.variable)
            (reference_declarator (identifier) @name.definition.variable)
            (array_declarator declarator: (identifier) @name.definition.variable)
          ])
      ]) @definition.variable)
  (preproc_ifdef
    (declaration
      declarator: [
        (identifier) @name.definition.variable
        (pointer_declarator declarator: (identifier) @name.definition.variable)
        (init_declarator
          declarator: [
            (identifier) @name.definition.variable
            (pointer_declarator declarator: (identifier) @name.definition.variable)
          ])
      ]) @definition.variable)
])

; References: calls (plain, member, qualified, template), instantiations, bases and types.

(call_expression
  function: (identifier) @name.reference.call)

(call_expression
  function: (field_expression field: (field_identifier) @name.reference.call))

(call_expression
  function: (qualified_identifier name: (identifier) @name.reference.call))

(call_expression
  function: (template_function name: (identifier) @name.reference.call))

(call_expression
  function: (qualified_identifier name: (template_function name: (identifier) @name.reference.call)))

; the class or namespace in `Foo::make()` / `ns::f()`
(call_expression
  function: (qualified_identifier scope: (namespace_identifier) @name.reference.type))

(new_expression
  type: [
    (type_identifier) @name.reference.class
    (qualified_identifier name: (type_identifier) @name.reference.class)
    (template_type name: (type_identifier) @name.reference.class)
  ])

(base_class_clause
  [
    (type_identifier) @name.reference.class
    (qualified_identifier name: (type_identifier) @name.reference.class)
    (template_type name: (type_identifier) @name.reference.class)
  ])

(type_identifier) @name.reference.type
