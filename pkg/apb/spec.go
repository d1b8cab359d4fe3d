package apb

// SecretsDir is where bundles find what the broker mounts for them:
// <SecretsDir>/apb-<name> (bundle-lib's layout, which apb-base reads).
const SecretsDir = "/etc/apb-secrets"

// Image labels of a bundle image.
const (
	LabelSpec          = "com.redhat.apb.spec"
	LabelRuntime       = "com.redhat.apb.runtime"
	LabelBundleRuntime = "com.redhat.bundle.runtime"
)

// Spec is an apb.yml plus what the broker adds (ID, FQName, Image, Runtime).
// The JSON form is the Automation Broker's etcd /spec/<id> value, so state
// can be imported.
type Spec struct {
	ID          string         `json:"id" yaml:"-"`
	Runtime     int            `json:"runtime" yaml:"runtime,omitempty"`
	Version     string         `json:"version" yaml:"version"`
	FQName      string         `json:"name" yaml:"-"`
	Name        string         `json:"-" yaml:"name"`
	Image       string         `json:"image" yaml:"-"`
	Tags        []string       `json:"tags" yaml:"tags,omitempty"`
	Bindable    bool           `json:"bindable" yaml:"bindable"`
	Description string         `json:"description" yaml:"description"`
	Metadata    map[string]any `json:"metadata,omitempty" yaml:"metadata,omitempty"`
	Async       string         `json:"async" yaml:"async"`
	Plans       []Plan         `json:"plans" yaml:"plans"`
	Alpha       map[string]any `json:"alpha,omitempty" yaml:"alpha,omitempty"`
	Delete      bool           `json:"delete" yaml:"-"`
	// Registry is the name of the registry the spec came from.
	Registry string `json:"registry,omitempty" yaml:"-"`
	// Digest is the image manifest digest when known (registry cache key).
	Digest string `json:"digest,omitempty" yaml:"-"`
}

// Plan is one plan of a spec.
type Plan struct {
	ID             string         `json:"id" yaml:"-"`
	Name           string         `json:"name" yaml:"name"`
	Description    string         `json:"description" yaml:"description"`
	Metadata       map[string]any `json:"metadata,omitempty" yaml:"metadata,omitempty"`
	Free           bool           `json:"free,omitempty" yaml:"free"`
	Bindable       bool           `json:"bindable,omitempty" yaml:"bindable"`
	Parameters     []Parameter    `json:"parameters" yaml:"parameters"`
	BindParameters []Parameter    `json:"bind_parameters,omitempty" yaml:"bind_parameters,omitempty"`
	UpdatesTo      []string       `json:"updates_to,omitempty" yaml:"updates_to,omitempty"`
}

// Parameter is one parameter descriptor. JSON names follow the Automation
// Broker's etcd encoding (camelCase for some validators).
type Parameter struct {
	Name             string       `json:"name" yaml:"name"`
	Title            string       `json:"title" yaml:"title"`
	Type             string       `json:"type" yaml:"type"`
	Description      string       `json:"description,omitempty" yaml:"description"`
	Default          any          `json:"default,omitempty" yaml:"default"`
	DeprecatedMaxLen int          `json:"maxlength,omitempty" yaml:"maxlength"`
	MaxLength        int          `json:"maxLength,omitempty" yaml:"max_length"`
	MinLength        int          `json:"minLength,omitempty" yaml:"min_length"`
	Pattern          string       `json:"pattern,omitempty" yaml:"pattern"`
	MultipleOf       float64      `json:"multipleOf,omitempty" yaml:"multiple_of"`
	Maximum          *float64     `json:"maximum,omitempty" yaml:"maximum"`
	ExclusiveMaximum *float64     `json:"exclusiveMaximum,omitempty" yaml:"exclusive_maximum"`
	Minimum          *float64     `json:"minimum,omitempty" yaml:"minimum"`
	ExclusiveMinimum *float64     `json:"exclusiveMinimum,omitempty" yaml:"exclusive_minimum"`
	Enum             []string     `json:"enum,omitempty" yaml:"enum"`
	Required         bool         `json:"required" yaml:"required"`
	Updatable        bool         `json:"updatable" yaml:"updatable"`
	DisplayType      string       `json:"displayType,omitempty" yaml:"display_type"`
	DisplayGroup     string       `json:"displayGroup,omitempty" yaml:"display_group"`
	Dependencies     []Dependency `json:"dependencies,omitempty" yaml:"dependencies"`
}

// Dependency is a form dependency of a parameter on another one's value.
type Dependency struct {
	Key   string `json:"key" yaml:"key"`
	Value any    `json:"value" yaml:"value"`
}
