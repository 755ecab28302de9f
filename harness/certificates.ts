/**
 * Certificates for the TLS tests, made by the openssl command line (Debian's openssl, which
 * scripts/install-test-tools.sh installs): a CA, a server certificate it signs for 127.0.0.1 and
 * localhost, a client certificate it signs (mutual TLS), and a self-signed "rogue" pair nobody trusts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertificateFiles {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly rogueCert: string;
  readonly rogueKey: string;
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A key and a certificate signed by the CA in `dir` (ca.pem, ca.key), named `name`.pem/.key. */
export function signedCertificate(dir: string, name: string, subject: string, altNames: string | null): { cert: string; key: string } {
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  const extensions = join(dir, `${name}.ext`);
  writeFileSync(extensions, altNames ? `subjectAltName=${altNames}\n` : 'basicConstraints=CA:FALSE\n');
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', extensions]);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

export function makeCertificates(dir: string): CertificateFiles {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=aggregator test CA']);
  const server = signedCertificate(dir, 'server', '/CN=localhost', 'IP:127.0.0.1,DNS:localhost');
  const client = signedCertificate(dir, 'client', '/CN=shipper', null);
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rogue.key', '-out', 'rogue.pem', '-days', '2', '-subj', '/CN=rogue']);
  return {
    dir,
    caCert: join(dir, 'ca.pem'),
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    rogueCert: join(dir, 'rogue.pem'),
    rogueKey: join(dir, 'rogue.key'),
  };
}

export const pem = (file: string): Buffer => readFileSync(file);
