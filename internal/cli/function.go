package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
)

func newFunctionCmd(e *env) *cobra.Command {
	cmd, c := newNoun(e, "function", "Create, show, list, update and delete functions",
		`A function is code with a runtime and a handler, inside a service. Functions
are named SERVICE/FUNCTION.`,
		`  openfc function create demo/hello --runtime python3.10 --handler index.handler --code ./src
  openfc function list demo`)
	cmd.AddCommand(c.functionCreate(), c.functionGet(), c.functionList(), c.functionUpdate(), c.functionDelete(), c.functionDeploy())
	return cmd
}

// functionFlags are the fields a function can be given by flags.
type functionFlags struct {
	runtime, handler, description string
	memory, timeout, concurrency  int
	env                           []string
	code                          string
	fromFile                      string
}

func addFunctionFlags(cmd *cobra.Command, f *functionFlags) {
	fl := cmd.Flags()
	fl.StringVar(&f.runtime, "runtime", "", "runtime, e.g. python3.10, nodejs18, custom")
	fl.StringVar(&f.handler, "handler", "", "handler, e.g. index.handler")
	fl.StringVar(&f.description, "description", "", "description")
	fl.IntVar(&f.memory, "memory", 0, "memory in MB, a multiple of 64 (default 128)")
	fl.IntVar(&f.timeout, "timeout", 0, "timeout of one invocation in seconds (default 60)")
	fl.IntVar(&f.concurrency, "concurrency", 0, "requests one instance serves at once (default 1)")
	fl.StringArrayVar(&f.env, "env", nil, "environment variable K=V (repeat; on update, replaces them all)")
	fl.StringVar(&f.code, "code", "", "code: a directory (zipped), a .zip file, or a single file")
	fromFileFlag(cmd, &f.fromFile)
}

func (c *common) functionBody(cmd *cobra.Command, f *functionFlags) (body, error) {
	b, err := c.readBody(f.fromFile)
	if err != nil {
		return nil, err
	}
	fl := cmd.Flags()
	for _, s := range []struct {
		flag, key string
		val       any
	}{
		{"runtime", "runtime", f.runtime},
		{"handler", "handler", f.handler},
		{"description", "description", f.description},
		{"memory", "memorySize", f.memory},
		{"timeout", "timeout", f.timeout},
		{"concurrency", "instanceConcurrency", f.concurrency},
	} {
		if fl.Changed(s.flag) {
			b[s.key] = s.val
		}
	}
	if fl.Changed("env") {
		vars := map[string]string{}
		for _, kv := range f.env {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, usagef("--env %q: use KEY=VALUE", kv)
			}
			vars[k] = v
		}
		b["environmentVariables"] = vars
	}
	if f.code != "" {
		zipped, err := zipCode(f.code)
		if err != nil {
			return nil, err
		}
		b["code"] = map[string]string{"zipFile": base64.StdEncoding.EncodeToString(zipped)}
	}
	return b, nil
}

// zipCode returns the zip of a directory, a zip file as it is, or a zip
// holding a single file.
func zipCode(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--code: %w", err)
	}
	if !info.IsDir() {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--code: %w", err)
		}
		if bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06")) {
			return data, nil
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		if err := addZipFile(zw, path, filepath.Base(path), info); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(path, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return addZipFile(zw, p, filepath.ToSlash(rel), info)
	})
	if err != nil {
		return nil, fmt.Errorf("--code: zip %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// addZipFile adds a file, directory or symbolic link with its mode.
func addZipFile(zw *zip.Writer, path, name string, info fs.FileInfo) error {
	h, err := zip.FileInfoHeader(info)
	if err != nil {
		return err
	}
	h.Name = name
	switch {
	case info.IsDir():
		h.Name += "/"
		_, err = zw.CreateHeader(h)
		return err
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(path)
		if err != nil {
			return err
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, filepath.ToSlash(target))
		return err
	case !info.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file, directory or link", path)
	}
	h.Method = zip.Deflate
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

func (c *common) functionCreate() *cobra.Command {
	var f functionFlags
	cmd := &cobra.Command{
		Use:   "create SERVICE/FUNCTION --runtime RUNTIME --handler HANDLER [flags]",
		Short: "Create a function",
		Long: `create makes a function from code in a directory (zipped in memory), a .zip
file or a single file. custom-container functions need no code.`,
		Example: `  openfc function create demo/hello --runtime python3.10 --handler index.handler --code ./src
  openfc function create demo/api --runtime nodejs18 --handler index.handler --code api.zip \
      --memory 256 --timeout 30 --concurrency 10 --env STAGE=dev --env DEBUG=1
  openfc function create demo/job --from-file function.json --code ./job`,
		Args: exactArgs("SERVICE/FUNCTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := splitPath(args[0], "SERVICE", "FUNCTION")
			if err != nil {
				return err
			}
			b, err := c.functionBody(cmd, &f)
			if err != nil {
				return err
			}
			b["functionName"] = names[1]
			var out fc.Function
			etag, err := c.create(cmd, "function "+args[0], "/2016-08-15/services/"+pathSeg(names[0])+"/functions", b, &out,
				[2]string{"runtime", "--runtime"}, [2]string{"handler", "--handler"})
			if err != nil {
				return err
			}
			return c.printFunction(&out, etag)
		},
	}
	addFunctionFlags(cmd, &f)
	return cmd
}

func (c *common) functionGet() *cobra.Command {
	var qualifier string
	cmd := &cobra.Command{
		Use:   "get SERVICE/FUNCTION [flags]",
		Short: "Show a function",
		Example: `  openfc function get demo/hello
  openfc function get demo/hello --qualifier prod -o json`,
		Args: exactArgs("SERVICE/FUNCTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := splitPath(args[0], "SERVICE", "FUNCTION")
			if err != nil {
				return err
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			fn, r, err := cl.GetFunction(cmd.Context(), names[0], qualifier, names[1])
			if err != nil {
				return apiError("get function "+args[0], err)
			}
			return c.printFunction(fn, r.ETag)
		},
	}
	cmd.Flags().StringVar(&qualifier, "qualifier", "", "a version or alias (default LATEST)")
	return cmd
}

func (c *common) functionList() *cobra.Command {
	var f listFlags
	var qualifier string
	cmd := &cobra.Command{
		Use:   "list SERVICE [flags]",
		Short: "List the functions of a service",
		Example: `  openfc function list demo
  openfc function list demo --qualifier prod --all -o json`,
		Args: exactArgs("SERVICE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			all := client.FunctionList{Functions: []fc.Function{}}
			next, err := f.pages(o, func(o client.ListOptions) (string, error) {
				l, _, err := cl.ListFunctions(cmd.Context(), args[0], qualifier, o)
				if err != nil {
					return "", apiError("list functions of "+args[0], err)
				}
				all.Functions = append(all.Functions, l.Functions...)
				return l.NextToken, nil
			})
			if err != nil {
				return err
			}
			all.NextToken = next
			if c.json() {
				return printJSON(c.e.stdout, all)
			}
			rows := make([][]string, 0, len(all.Functions))
			for _, fn := range all.Functions {
				rows = append(rows, []string{fn.FunctionName, fn.Runtime, dash(fn.Handler), strconv.Itoa(fn.MemorySize),
					strconv.Itoa(fn.Timeout), strconv.Itoa(fn.InstanceConcurrency), strconv.FormatInt(fn.CodeSize, 10), fn.LastModifiedTime})
			}
			if err := printTable(c.e.stdout, []string{"NAME", "RUNTIME", "HANDLER", "MEMORY(MB)", "TIMEOUT(S)", "CONCURRENCY", "CODE SIZE", "LAST MODIFIED"}, rows); err != nil {
				return err
			}
			c.moreHint(cmd, next)
			return nil
		},
	}
	cmd.Flags().StringVar(&qualifier, "qualifier", "", "a version or alias (default LATEST)")
	addListFlags(cmd, &f)
	return cmd
}

func (c *common) functionUpdate() *cobra.Command {
	var f functionFlags
	var etag string
	cmd := &cobra.Command{
		Use:   "update SERVICE/FUNCTION [flags]",
		Short: "Change some fields or the code of a function",
		Long: `update changes only the fields given by flags or --from-file; the others keep
their values. --env replaces all environment variables.`,
		Example: `  openfc function update demo/hello --memory 512 --timeout 120
  openfc function update demo/hello --code ./src --if-match 4f0d...
  openfc function update demo/hello --env STAGE=prod`,
		Args: exactArgs("SERVICE/FUNCTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := splitPath(args[0], "SERVICE", "FUNCTION")
			if err != nil {
				return err
			}
			b, err := c.functionBody(cmd, &f)
			if err != nil {
				return err
			}
			if len(b) == 0 {
				return usagef("nothing to update: give a flag such as --memory or --code, or --from-file")
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			fn, r, err := cl.UpdateFunction(cmd.Context(), names[0], names[1], b, etag)
			if err != nil {
				return apiError("update function "+args[0], err)
			}
			return c.printFunction(fn, r.ETag)
		},
	}
	addFunctionFlags(cmd, &f)
	ifMatchFlag(cmd, &etag)
	return cmd
}

func (c *common) functionDelete() *cobra.Command {
	return c.deleteCmd("function", "Delete a function (it must have no triggers)",
		`  openfc function delete demo/hello`, []string{"SERVICE", "FUNCTION"},
		func(ctx context.Context, cl *client.Client, n []string, etag string) (*client.Response, error) {
			return cl.DeleteFunction(ctx, n[0], n[1], etag)
		})
}

func (c *common) printFunction(fn *fc.Function, etag string) error {
	if c.json() {
		return printJSON(c.e.stdout, fn)
	}
	return printFields(c.e.stdout, []field{
		{"Name", fn.FunctionName},
		{"ID", fn.FunctionID},
		{"Description", dash(fn.Description)},
		{"Runtime", fn.Runtime},
		{"Handler", dash(fn.Handler)},
		{"Memory", strconv.Itoa(fn.MemorySize) + " MB"},
		{"Timeout", strconv.Itoa(fn.Timeout) + " s"},
		{"Concurrency", strconv.Itoa(fn.InstanceConcurrency)},
		{"Environment", dash(pairs(fn.EnvironmentVariables))},
		{"Code size", strconv.FormatInt(fn.CodeSize, 10) + " bytes"},
		{"Code checksum", dash(fn.CodeChecksum)},
		{"Created", fn.CreatedTime},
		{"Last modified", fn.LastModifiedTime},
		{"ETag", dash(etag)},
	})
}
