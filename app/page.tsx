export default function Home() {
  return <main><h1>Swapmesh</h1></main>;
}
