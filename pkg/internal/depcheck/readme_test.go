package depcheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoPath is a path of this repository as README.rst writes it: under one
// of the top-level folders, in a literal or in running text.
var repoPath = regexp.MustCompile("(?:^|[\\s`(])((?:cmd|pkg|test|bench|hack|deploy|registries|apb-base)/[A-Za-z0-9_./-]*)")

// TestReadmePathsExist: every path README.rst names is in the
// repository, unless "(coming)" follows it; and one marked coming that
// exists now must lose the mark.
func TestReadmePathsExist(t *testing.T) {
	root := moduleRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "README.rst"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	// "(coming)" right after a path marks it as not there yet.
	coming := regexp.MustCompile("^`*\\s*\\(coming\\)")
	found := 0
	for _, m := range repoPath.FindAllStringSubmatchIndex(text, -1) {
		p := strings.TrimRight(text[m[2]:m[3]], ".,;:")
		if strings.ContainsAny(p, "<>*{") {
			continue // a pattern such as /etc/apb-secrets/apb-<secret>
		}
		found++
		isComing := coming.MatchString(text[m[3]:])
		_, statErr := os.Stat(filepath.Join(root, filepath.FromSlash(p)))
		switch {
		case statErr != nil && !isComing:
			t.Errorf("README.rst names %s, which does not exist (mark it \"(coming)\", or drop it)", p)
		case statErr == nil && isComing:
			t.Errorf("README.rst says %s is coming, but it exists now", p)
		}
	}
	if found < 10 {
		t.Fatalf("found only %d paths in README.rst: is the pattern still right?", found)
	}
}
