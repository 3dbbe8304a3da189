// The part of markdown-it (a CommonMark + GFM-tables renderer, devDependency) the Markdown tests use.
declare module 'markdown-it' {
  export default class MarkdownIt {
    constructor(options?: { html?: boolean });
    render(markdown: string): string;
  }
}
