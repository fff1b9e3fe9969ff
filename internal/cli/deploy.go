package cli

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
)

func (c *common) functionDeploy() *cobra.Command {
	var f functionFlags
	var name string
	cmd := &cobra.Command{
		Use:   "deploy DIR --name SERVICE/FUNCTION [flags]",
		Short: "Zip a folder and create or update a function from it",
		Long: `deploy zips DIR (showing progress on stderr), creates the service if it does
not exist, and creates the function, or updates its code and the given
settings when it exists. --runtime and --handler are needed only to create.`,
		Example: `  openfc function deploy ./hello --name demo/hello --runtime python3 --handler index.handler
  openfc function deploy ./hello --name demo/hello          # update the code only`,
		Args: exactArgs("DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return usagef("--name SERVICE/FUNCTION is required")
			}
			names, err := splitPath(name, "SERVICE", "FUNCTION")
			if err != nil {
				return err
			}
			if f.code != "" {
				return usagef("deploy takes the code from DIR; drop --code")
			}
			info, err := os.Stat(args[0])
			if err != nil || !info.IsDir() {
				return usagef("%s is not a directory", args[0])
			}
			b, err := c.functionBody(cmd, &f)
			if err != nil {
				return err
			}
			zipped, err := zipWithProgress(args[0], c.e.stderr)
			if err != nil {
				return err
			}
			b["code"] = map[string]string{"zipFile": base64.StdEncoding.EncodeToString(zipped)}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			// Refuse a create that cannot succeed before changing anything.
			_, _, err = cl.GetFunction(ctx, names[0], "", names[1])
			exists := err == nil
			if err != nil && !isAPICode(err, fc.CodeFunctionNotFound) && !isAPICode(err, fc.CodeServiceNotFound) {
				return apiError("get function "+name, err)
			}
			if !exists {
				for _, k := range []struct{ key, flag string }{{"runtime", "--runtime"}, {"handler", "--handler"}} {
					if _, ok := b[k.key]; !ok {
						return usagef("function %s does not exist: %s is needed to create it", name, k.flag)
					}
				}
			}
			if isAPICode(err, fc.CodeServiceNotFound) {
				if _, _, err := cl.CreateService(ctx, &fc.Service{ServiceName: names[0]}); err != nil {
					return apiError("create service "+names[0], err)
				}
				fmt.Fprintf(c.e.stderr, "created service %s\n", names[0])
			}
			var out fc.Function
			var r *client.Response
			base := "/2016-08-15/services/" + pathSeg(names[0]) + "/functions"
			verb := "updated"
			if exists {
				r, err = cl.Do(ctx, client.Request{Method: "PUT", Path: base + "/" + pathSeg(names[1]), Body: b}, &out)
			} else {
				b["functionName"] = names[1]
				r, err = cl.Do(ctx, client.Request{Method: "POST", Path: base, Body: b}, &out)
				verb = "created"
			}
			if err != nil {
				return apiError("deploy "+name, err)
			}
			fmt.Fprintf(c.e.stderr, "%s function %s (%d bytes of code, checksum %s)\n", verb, name, out.CodeSize, out.CodeChecksum)
			return c.printFunction(&out, r.ETag)
		},
	}
	addFunctionFlags(cmd, &f)
	cmd.Flags().StringVar(&name, "name", "", "SERVICE/FUNCTION to deploy to")
	return cmd
}

func isAPICode(err error, code string) bool {
	var e *client.Error
	return errors.As(err, &e) && e.Code == code
}

// zipWithProgress zips a directory, showing a progress bar of the bytes
// read on w.
func zipWithProgress(dir string, w io.Writer) ([]byte, error) {
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	bar := progressbar.NewOptions64(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("zipping"),
		progressbar.OptionShowBytes(true), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(0))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if err := addZipFile(zw, p, filepath.ToSlash(rel), info); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			bar.Add64(info.Size())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("zip %s: %w", dir, err)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	bar.Finish()
	return buf.Bytes(), nil
}
