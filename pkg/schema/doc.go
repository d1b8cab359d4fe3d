// Package schema validates request parameters against the draft-04 JSON
// schemas of the catalog (pkg/apb writes them), with
// github.com/santhosh-tekuri/jsonschema/v6, and words each problem for a
// 400 that names the parameter and the rule it broke (`parameter "size":
// must be <= 100`, `parameter "color": not allowed`).
//
// The catalog's schemas follow the Automation Broker's, which meant more
// than draft-04 says: a parameter declared by an applicable dependency
// (its key is set, or its oneOf branch is the one chosen) is allowed
// under "additionalProperties": false, and an object-typed parameter, whose
// members apb.yml cannot declare, takes any. To keep that meaning with a
// standard validator, a schema is translated into draft 2020-12 before it
// is compiled: additionalProperties false becomes unevaluatedProperties
// false where properties are declared (dropped where none are),
// dependencies become dependentSchemas/dependentRequired, and draft-04's
// boolean exclusiveMinimum/exclusiveMaximum become numbers.
package schema
