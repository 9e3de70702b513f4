import { apiErrorOf } from '../api/api-error';

/**
 * Saves a file the api answered (a CSV export) or the console made (recovery codes): an object URL
 * on a Blob, clicked through a temporary <a download>. blob: URLs are same-origin, so the CSP
 * (default-src 'self') lets the download through; the URL is revoked once the click has started it.
 */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The file name of `Content-Disposition: attachment; filename="..."`, or `fallback`. */
export function fileNameOf(response: Response, fallback: string): string {
  const disposition = response.headers.get('content-disposition') ?? '';
  const match = /filename="([^"]+)"/.exec(disposition);
  // Only a plain name: never a path the browser would have to sanitise.
  return match?.[1] !== undefined && /^[\w.-]+$/.test(match[1]) ? match[1] : fallback;
}

interface BlobResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** A file answer (parseAs: 'blob') as a Blob and its name, or the api's error. */
export async function downloadOf(
  call: Promise<BlobResult>,
  fallbackName: string,
): Promise<{ blob: Blob; fileName: string }> {
  let result: BlobResult;
  try {
    result = await call;
  } catch {
    throw apiErrorOf(new Response(null, { status: 599 }), undefined);
  }
  if (!result.response.ok || !(result.data instanceof Blob)) throw apiErrorOf(result.response, result.error);
  return { blob: result.data, fileName: fileNameOf(result.response, fallbackName) };
}
