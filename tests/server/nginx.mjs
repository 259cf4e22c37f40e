// nginx for the tests (Debian's nginx-light): the configuration files of
// deploy/nginx/ with their @NAME@ values filled in, in a private folder, on
// a free loopback port, stopped with the test file (tests/server/harness.mjs
// trackProcess). docs/deploy.md describes the files.
//
//   const ngx = await startNginx('metron.conf', { PREFIX: '/metron/',
//     PORTAL_DIR: dist, SERVER: `127.0.0.1:${srv.port}` });
//   ngx.url  // "http://127.0.0.1:<port>"; ngx.stop()
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { freePort, repoRoot, sleep, tempDir, trackProcess } from './harness.mjs';

export const nginxBin = process.env.METRON_NGINX || '/usr/sbin/nginx';

/**
 * Start nginx with deploy/nginx/<site> (LISTEN is set here: a free port on
 * 127.0.0.1, or vars.LISTEN). opts.proxyBind: the address nginx connects to
 * the server from (e.g. 127.0.0.2, so that the browser's 127.0.0.1 is not
 * the proxy's). Resolves to { url, port, dir, stop() } once it answers.
 */
export async function startNginx(site, vars = {}, { proxyBind } = {}) {
  if (!fs.existsSync(nginxBin)) {
    throw new Error(`${nginxBin} is missing: scripts/bootstrap installs nginx-light`);
  }
  const dir = tempDir('metron-nginx-');
  const port = vars.LISTEN ? Number(String(vars.LISTEN).split(':').pop()) : await freePort();
  const all = { LISTEN: `127.0.0.1:${port}`, ...vars };
  let text = fs.readFileSync(path.join(repoRoot, 'deploy', 'nginx', site), 'utf8');
  text = text.replace(/@([A-Z_]+)@/g, (m, name) => {
    if (!(name in all)) throw new Error(`deploy/nginx/${site}: no value for @${name}@`);
    return all[name];
  });
  fs.writeFileSync(path.join(dir, 'site.conf'), text);
  for (const t of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(dir, t));
  // As root, nginx's workers would run as "nobody", who cannot read the
  // test's private folders.
  const user = process.getuid && process.getuid() === 0 ? 'user root root;\n' : '';
  fs.writeFileSync(path.join(dir, 'nginx.conf'), `${user}daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${proxyBind ? `  proxy_bind ${proxyBind};\n` : ''}  include ${dir}/site.conf;
}
`);
  let stderr = '';
  const proc = spawn(nginxBin, ['-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  trackProcess(proc, `nginx (${site})`);
  proc.stderr.on('data', (d) => { stderr += d; });
  let exited = null;
  const done = new Promise((resolve) => proc.on('exit', (code, signal) => {
    exited = { code, signal };
    resolve(exited);
  }));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (exited) {
      const log = fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : '';
      throw new Error(`nginx (${site}) exited ${JSON.stringify(exited)}: ${stderr}${log}`);
    }
    try {
      await fetch(url, { method: 'HEAD' });
      break;
    } catch {
      if (i > 100) throw new Error(`nginx (${site}) does not answer on ${url}`);
      await sleep(100);
    }
  }
  return {
    url, port, dir,
    errorLog: () => fs.readFileSync(path.join(dir, 'error.log'), 'utf8'),
    async stop() {
      if (!exited) proc.kill('SIGQUIT');
      const t = setTimeout(() => { if (!exited) proc.kill('SIGKILL'); }, 5000);
      await done;
      clearTimeout(t);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
