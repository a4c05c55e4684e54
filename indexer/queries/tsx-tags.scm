; JSX references, added to the typescript queries for .tsx files (the typescript grammar has no JSX).


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
