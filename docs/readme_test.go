package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// maxReadme is the README's budget: what it is, the two commands, the
// emulator walk-through and links; everything else belongs in docs/.
const maxReadme = 10 << 10

func TestReadmeSize(t *testing.T) {
	fi, err := os.Stat(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > maxReadme {
		t.Errorf("README.md is %d bytes, over %d: move the details to docs/", fi.Size(), maxReadme)
	}
}

// mdLink matches the target of a Markdown link or image: ](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestRelativeLinks checks that every relative link in README.md and
// docs/*.md names a file or directory of the repository.
func TestRelativeLinks(t *testing.T) {
	for _, md := range markdownFiles(t) {
		data, err := os.ReadFile(md)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			path := filepath.Join(filepath.Dir(md), filepath.FromSlash(target))
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s links to %s, which does not exist", md, m[1])
			}
		}
	}
}
