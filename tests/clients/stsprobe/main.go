// stsprobe: GetCallerIdentity through the AWS SDK for Go v2 as Debian 12 ships it (1.17, whose
// INI reader predates the late-2023 rewrite), with the credentials of a profile from
// ~/.aws/config. The SDK runs credential_process through `sh -c`. STS_ENDPOINT points STS at the
// local emulator: this SDK version does not read AWS_ENDPOINT_URL_STS.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.TODO(), config.WithSharedConfigProfile(os.Args[1]))
	if err != nil {
		fmt.Fprintln(os.Stderr, "config:", err)
		os.Exit(2)
	}
	client := sts.NewFromConfig(cfg, func(o *sts.Options) {
		o.EndpointResolver = sts.EndpointResolverFromURL(os.Getenv("STS_ENDPOINT"))
	})
	out, err := client.GetCallerIdentity(context.TODO(), &sts.GetCallerIdentityInput{})
	if errors.Is(err, net.ErrClosed) {
		// The SDK's own bug, not the helper's: Go's transport can close a kept-alive
		// connection while the SDK still reads the answer (aws-sdk-go-v2 issue 2737). SDKs
		// since January 2025 retry it by default (aws-sdk-go-v2 PR 2949); Debian's 1.17 does
		// not, so this program does what they do. Credentials come from the SDK's cache.
		out, err = client.GetCallerIdentity(context.TODO(), &sts.GetCallerIdentityInput{})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sts:", err)
		os.Exit(1)
	}
	fmt.Println(*out.Arn)
}
