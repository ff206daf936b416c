import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * Headers for everything under /console: a Content-Security-Policy that lets the page load only
 * its own files and talk only to this API (no inline script or style, no eval, no plugins, never
 * framed, forms posting only here), plus helmet's other defaults (no MIME sniffing, no referrer,
 * same-origin opener and resources). HSTS is left to whoever terminates TLS: sent from here it
 * would bind the whole host name, and the page also runs over plain HTTP locally.
 */
export const consoleHeaders = (): RequestHandler =>
  helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    strictTransportSecurity: false,
    referrerPolicy: { policy: 'no-referrer' },
  });
