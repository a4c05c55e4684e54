; Definitions: @name.definition.<kind> is the name, @definition.<kind> the whole unit.
; Annotations and modifiers are part of the unit; the Javadoc above it becomes its doc.

(class_declaration
  name: (identifier) @name.definition.class) @definition.class

(interface_declaration
  name: (identifier) @name.definition.interface) @definition.interface

(annotation_type_declaration
  name: (identifier) @name.definition.interface) @definition.interface

(enum_declaration
  name: (identifier) @name.definition.enum) @definition.enum

(record_declaration
  name: (identifier) @name.definition.record) @definition.record

(method_declaration
  name: (identifier) @name.definition.method) @definition.method

(constructor_declaration
  name: (identifier) @name.definition.method) @definition.method

(compact_constructor_declaration
  name: (identifier) @name.definition.method) @definition.method

(annotation_type_element_declaration
  name: (identifier) @name.definition.method) @definition.method

; one match per declarator: `int a, b;` defines two fields
(field_declaration
  declarator: (variable_declarator
    name: (identifier) @name.definition.field)) @definition.field

; interface constants
(constant_declaration
  declarator: (variable_declarator
    name: (identifier) @name.definition.constant)) @definition.constant

(enum_constant
  name: (identifier) @name.definition.constant) @definition.constant

; record components are the record's fields
(record_declaration
  parameters: (formal_parameters
    (formal_parameter
      name: (identifier) @name.definition.field) @definition.field))

; References: calls, instantiations, supertypes and every type named.

(method_invocation
  name: (identifier) @name.reference.call)

(object_creation_expression
  type: [
    (type_identifier) @name.reference.class
    (generic_type (type_identifier) @name.reference.class)
  ])

(superclass
  [
    (type_identifier) @name.reference.class
    (generic_type (type_identifier) @name.reference.class)
  ])

(super_interfaces
  (type_list
    [
      (type_identifier) @name.reference.class
      (generic_type (type_identifier) @name.reference.class)
    ]))

(extends_interfaces
  (type_list
    [
      (type_identifier) @name.reference.class
      (generic_type (type_identifier) @name.reference.class)
    ]))

(type_identifier) @name.reference.type
