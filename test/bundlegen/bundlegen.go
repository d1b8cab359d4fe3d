package bundlegen

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
)

var (
	nouns = []string{"postgresql", "mysql", "redis", "keypair", "network", "volume", "queue",
		"dns-zone", "loadbalancer", "bucket", "server", "share", "stack", "cache", "broker"}
	planNames   = []string{"dev", "prod", "small", "medium", "large", "default", "ha"}
	displayTyps = []string{"text", "textarea", "password", "checkbox", "select"}
	groups      = []string{"Database", "Network", "Storage", "Access"}
)

// Generate returns n distinct apb.yml documents; each parses and validates
// with pkg/apb and has 1-3 plans with a mix of parameter kinds.
func Generate(n int, seed int64) [][]byte {
	r := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	docs := make([][]byte, n)
	for i := range n {
		docs[i] = generate(r, i)
	}
	return docs
}

// Name is the bundle name of document i (0-based) of Generate.
func Name(i int) string { return fmt.Sprintf("gen-bundle-%04d-apb", i+1) }

func generate(r *rand.Rand, i int) []byte {
	var b bytes.Buffer
	// Numbered from 1 so names read like a listing: gen-bundle-0001-apb.
	name := Name(i)
	kind := nouns[r.IntN(len(nouns))]
	version := []string{"'1.0'", "1.0", "1.0.0"}[r.IntN(3)]
	fmt.Fprintf(&b, "version: %s\nname: %s\n", version, name)
	fmt.Fprintf(&b, "description: Generated %s bundle number %d for catalog tests\n", kind, i+1)
	fmt.Fprintf(&b, "bindable: %s\n", boolText(r, r.IntN(2) == 0))
	fmt.Fprintf(&b, "async: %s\n", []string{"optional", "required", "unsupported"}[r.IntN(3)])
	fmt.Fprintf(&b, "tags: [generated, %s]\n", kind)
	fmt.Fprintf(&b, "metadata:\n  displayName: Generated %s %d (APB)\n  providerDisplayName: bundlegen\n", kind, i+1)
	fmt.Fprintf(&b, "  dependencies: ['example.invalid/gen/%s:latest']\n", name)

	nplans := 1 + r.IntN(3)
	plans := pick(r, planNames, nplans)
	b.WriteString("plans:\n")
	for pi, plan := range plans {
		fmt.Fprintf(&b, "  - name: %s\n    description: The %s plan\n", plan, plan)
		fmt.Fprintf(&b, "    free: %s\n", boolText(r, r.IntN(3) > 0))
		fmt.Fprintf(&b, "    metadata:\n      displayName: %s\n      cost: $%d.00\n", plan, r.IntN(50))
		if nplans > 1 && r.IntN(2) == 0 {
			fmt.Fprintf(&b, "    updates_to: [%s]\n", plans[(pi+1)%nplans])
		}
		b.WriteString("    parameters:")
		writeParams(&b, r, 1+r.IntN(8), "p")
		if r.IntN(3) == 0 {
			b.WriteString("    bind_parameters:")
			writeParams(&b, r, 1+r.IntN(3), "b")
		}
	}
	return b.Bytes()
}

func writeParams(b *bytes.Buffer, r *rand.Rand, n int, prefix string) {
	b.WriteString("\n")
	group := ""
	for j := range n {
		name := fmt.Sprintf("%s%d_%s", prefix, j, []string{"name", "size", "flag", "ratio", "mode", "opts", "list"}[r.IntN(7)])
		fmt.Fprintf(b, "      - name: %s\n        title: Parameter %d\n", name, j)
		fmt.Fprintf(b, "        description: Generated parameter %s\n", name)
		switch k := r.IntN(7); k {
		case 0: // string with validators
			fmt.Fprintf(b, "        type: string\n        default: value%d\n", j)
			fmt.Fprintf(b, "        max_length: %d\n        min_length: 1\n", 8+r.IntN(60))
			b.WriteString("        pattern: '^[a-z][a-z0-9_]*$'\n")
		case 1: // legacy maxlength + display type
			fmt.Fprintf(b, "        type: string\n        maxlength: %d\n", 16+r.IntN(48))
			fmt.Fprintf(b, "        display_type: %s\n", displayTyps[r.IntN(3)])
		case 2:
			b.WriteString("        type: enum\n        enum: ['1Gi', '5Gi', '10Gi']\n        default: 1Gi\n")
		case 3:
			fmt.Fprintf(b, "        type: %s\n        minimum: 1\n        maximum: %d\n", []string{"int", "integer"}[r.IntN(2)], 10+r.IntN(100))
			fmt.Fprintf(b, "        default: 1\n        multiple_of: 1\n")
		case 4:
			b.WriteString("        type: number\n        exclusive_minimum: 0\n        exclusive_maximum: 1\n        default: 0.5\n")
		case 5:
			fmt.Fprintf(b, "        type: %s\n        default: %s\n        display_type: checkbox\n", []string{"bool", "boolean"}[r.IntN(2)], boolText(r, r.IntN(2) == 0))
		case 6:
			fmt.Fprintf(b, "        type: %s\n", []string{"object", "array"}[r.IntN(2)])
		}
		if r.IntN(3) == 0 {
			group = groups[r.IntN(len(groups))]
		}
		if group != "" && r.IntN(2) == 0 {
			fmt.Fprintf(b, "        display_group: %s\n", group)
		}
		fmt.Fprintf(b, "        required: %s\n        updatable: %s\n", boolText(r, r.IntN(3) == 0), boolText(r, r.IntN(3) == 0))
	}
}

// boolText spells a boolean the ways real bundles do, quoted ones included.
func boolText(r *rand.Rand, v bool) string {
	if v {
		return []string{"true", "True", `"True"`, `"true"`}[r.IntN(4)]
	}
	return []string{"false", "False", `"False"`, `"false"`}[r.IntN(4)]
}

func pick(r *rand.Rand, from []string, n int) []string {
	idx := r.Perm(len(from))[:n]
	out := make([]string, n)
	for i, k := range idx {
		out[i] = from[k]
	}
	return out
}

var nameLine = regexp.MustCompile(`(?m)^name: (\S+)$`)

// WriteDir writes each document to <dir>/<name>/apb.yml, name being the
// document's top-level name.
func WriteDir(dir string, docs [][]byte) error {
	for i, d := range docs {
		m := nameLine.FindSubmatch(d)
		if m == nil {
			return fmt.Errorf("document %d has no top-level name", i)
		}
		sub := filepath.Join(dir, string(m[1]))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("writing bundle %d: %w", i, err)
		}
		if err := os.WriteFile(filepath.Join(sub, "apb.yml"), d, 0o644); err != nil {
			return fmt.Errorf("writing bundle %d: %w", i, err)
		}
	}
	return nil
}
