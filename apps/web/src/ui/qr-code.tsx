import { create } from 'qrcode';
import { useMemo } from 'react';

/** Modules of quiet zone around the symbol: scanners need a light border. */
const QUIET_ZONE = 4;

/**
 * A QR code drawn as SVG elements by React: no canvas, no innerHTML, no inline <style> (the CSP), and
 * sharp at any size. Dark modules on a light square in dark mode too, as scanners expect. The text is
 * for the person's phone; the caller shows it as text as well, for typing it in by hand.
 */
export function QrCode({ text, label }: { text: string; label: string }) {
  const path = useMemo(() => {
    const { modules } = create(text, { errorCorrectionLevel: 'M' });
    const size = modules.size;
    const parts: string[] = [];
    for (let row = 0; row < size; row += 1) {
      for (let column = 0; column < size; column += 1) {
        if (modules.get(row, column)) parts.push(`M${column + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`);
      }
    }
    return { d: parts.join(''), extent: size + QUIET_ZONE * 2 };
  }, [text]);
  return (
    <svg
      className="qr-code"
      viewBox={`0 0 ${path.extent} ${path.extent}`}
      role="img"
      aria-label={label}
      shapeRendering="crispEdges"
    >
      <rect width={path.extent} height={path.extent} className="qr-light" />
      <path d={path.d} className="qr-dark" />
    </svg>
  );
}
