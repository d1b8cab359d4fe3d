package registry

import (
	"slices"
	"testing"
)

// The names of bundle-lib's filter_test.go.
var filterNames = []string{
	"legitimate-postgresql-apb", "legitimate-mediawiki-apb", "totally-not-malicious-apb",
	"malicious-bar-apb", "specific-blacklist-apb", "foo-apb", "bar-apb",
	"rhscl-postgresql-apb", "baz-apb", "foobar-apb",
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name         string
		white, black []string
		want         []string
		invalid      int
	}{
		{name: "no lists: nothing passes"},
		{name: "only a black list: nothing passes", black: []string{"malicious"}},
		{name: "match all", white: []string{".*"}, want: filterNames},
		{name: "white only, unanchored", white: []string{"postgresql"}, want: []string{"legitimate-postgresql-apb", "rhscl-postgresql-apb"}},
		{
			name:  "white minus black",
			white: []string{".*-apb$"},
			black: []string{".*malicious.*", "^specific-blacklist-apb$"},
			want:  []string{"legitimate-postgresql-apb", "legitimate-mediawiki-apb", "foo-apb", "bar-apb", "rhscl-postgresql-apb", "baz-apb", "foobar-apb"},
		},
		{name: "white matching nothing", white: []string{".*-nothingwillmatchthis$"}},
		{name: "invalid and empty entries ignored", white: []string{"(", "", "^foo"}, want: []string{"foo-apb", "foobar-apb"}, invalid: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFilter(tt.white, tt.black)
			pass, filtered := f.apply(filterNames)
			if !slices.Equal(pass, tt.want) {
				t.Errorf("pass = %q, want %q", pass, tt.want)
			}
			if len(pass)+len(filtered) != len(filterNames) {
				t.Errorf("pass %d + filtered %d != %d names", len(pass), len(filtered), len(filterNames))
			}
			if len(f.invalid) != tt.invalid {
				t.Errorf("invalid = %v, want %d", f.invalid, tt.invalid)
			}
		})
	}
}
