package matcher

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDecideDependsOnTheVocabularyOnly: the pure decision (decide*.go) imports the standard library
// and pipeline only, never the store (pipeline/state) or a client library; the store's glue is
// store.go's. This keeps Decide table-testable, fuzzable and benchmarkable without Redis (STYLE.md).
func TestDecideDependsOnTheVocabularyOnly(t *testing.T) {
	files, err := filepath.Glob("decide*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path != "github.com/paystream/paystream/pipeline" && strings.Contains(strings.SplitN(path, "/", 2)[0], ".") {
				t.Errorf("%s imports %s: Decide may use the standard library and pipeline only", f, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no decide*.go file found")
	}
}
