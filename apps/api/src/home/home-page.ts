import { DOCS_PATH } from '../docs/swagger-ui-page';

/**
 * What a browser opening the api's address sees until the web console is served there (issue 13).
 * Plain HTML, no script or style: the CSP allows neither inline.
 */
export function homePageHtml(options: { docsEnabled: boolean }): string {
  const docs = options.docsEnabled
    ? `<li>API documentation: <a href="${DOCS_PATH}">${DOCS_PATH}</a></li>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Switchboard API server</title>
</head>
<body>
<h1>Switchboard API server</h1>
<p>This is the API server of a Switchboard installation, for RustDesk clients and for operators.</p>
<ul>
<li>Operator API: <code>/api/v1</code></li>
${docs}
</ul>
<p>The web console is coming soon.</p>
</body>
</html>
`;
}
