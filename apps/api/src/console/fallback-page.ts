import { DOCS_PATH } from '../docs/swagger-ui-page';

/**
 * What `/` answers when the console was not built (an api started from source, or a slimmed image):
 * where the APIs are and how to get the console. Plain HTML: the CSP allows no inline script or style.
 */
export function fallbackPageHtml(options: { docsEnabled: boolean; consoleDir: string }): string {
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
<p>The web console is not built here: <code>npm run build</code> writes it, and the api serves it from
<code>${escapeHtml(options.consoleDir)}</code> (or CONSOLE_DIR).</p>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
