package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's getting-started code is the source of runnable examples
// whose output the tests check; these tests keep the README true of the
// tree: the code it shows is the examples' code, the commands it gives name
// examples and files that exist, and its table lists every package.

// readme returns the module's README.md.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testDecls returns the source, without doc comments, of every top-level
// function and variable of the test files of the package in dir, by name.
func testDecls(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", dir, "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files in %s: %v", dir, err)
	}
	fset := token.NewFileSet()
	decls := map[string]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			var name string
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					name = d.Name.Name
				}
			case *ast.GenDecl:
				if s, ok := d.Specs[0].(*ast.ValueSpec); ok && d.Tok == token.VAR {
					name = s.Names[0].Name
				}
			}
			if name != "" {
				decls[name] = string(src[fset.Position(d.Pos()).Offset:fset.Position(d.End()).Offset])
			}
		}
	}
	return decls
}

// exampleBlock is a marked code block: <!-- example: PKG NAME... --> and the
// ```go and ```sh blocks after it.
var exampleBlock = regexp.MustCompile("(?s)<!-- example: (\\S+) ([^>]+?) -->\n```go\n(.*?)\n```\n.*?```sh\n(.*?)\n```")

// TestReadmeExamples checks that each code block the README marks as an
// example is the source of the named declarations, that the example checks
// its output, and that the command under it runs that example.
func TestReadmeExamples(t *testing.T) {
	text := readme(t)
	blocks := exampleBlock.FindAllStringSubmatch(text, -1)
	if len(blocks) < 3 {
		t.Fatalf("the README marks %d example blocks; the getting-started section has three", len(blocks))
	}
	for _, b := range blocks {
		pkg, names, code, cmd := b[1], strings.Fields(b[2]), b[3], b[4]
		decls := testDecls(t, pkg)
		var want []string
		for _, n := range names {
			src, ok := decls[n]
			if !ok {
				t.Errorf("README shows %s.%s, which the package's tests do not declare", pkg, n)
				continue
			}
			want = append(want, src)
		}
		if w := strings.Join(want, "\n\n"); code != w {
			t.Errorf("README's %s %v differs from the source:\n--- README\n%s\n--- source\n%s", pkg, names, code, w)
		}
		example := names[len(names)-1]
		if !strings.HasPrefix(example, "Example") || !strings.Contains(decls[example], "// Output:") {
			t.Errorf("%s.%s is not an example that checks its output", pkg, example)
		}
		if want := "go test ./" + pkg + " -run '^" + example + "$' -v"; cmd != want {
			t.Errorf("README's command for %s.%s is %q, want %q", pkg, example, cmd, want)
		}
	}
}

// TestReadmeCommands checks that every example the README tells a reader
// to run exists, and every config file it names.
func TestReadmeCommands(t *testing.T) {
	text := readme(t)
	for _, m := range regexp.MustCompile(`go test \./(\S+) -run '\^(\w+)\$'`).FindAllStringSubmatch(text, -1) {
		if _, ok := testDecls(t, m[1])[m[2]]; !ok {
			t.Errorf("README runs %s in ./%s, which has no such test or example", m[2], m[1])
		}
	}
	for _, m := range regexp.MustCompile(`-config (\S+\.toml)`).FindAllStringSubmatch(text, -1) {
		if _, err := os.Stat(filepath.Join("..", m[1])); err != nil {
			t.Errorf("README names %s: %v", m[1], err)
		}
	}
}

// TestReadmePackages checks that the README's table of packages has a row
// for every top-level directory of the module that holds Go code.
func TestReadmePackages(t *testing.T) {
	text := readme(t)
	entries, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		goFiles, _ := filepath.Glob(filepath.Join("..", e.Name(), "*.go"))
		sub, _ := filepath.Glob(filepath.Join("..", e.Name(), "*", "*.go"))
		if len(goFiles)+len(sub) == 0 {
			continue
		}
		if !strings.Contains(text, "\n| `"+e.Name()) {
			t.Errorf("the README's table of packages has no row for %s", e.Name())
		}
	}
}
